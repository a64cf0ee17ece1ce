import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot, startDevFakes, STACK_REALTIME, type DevFakes } from '../../devstack/localStack.js';

const run = promisify(execFile);
let fakes: DevFakes;

beforeAll(async () => {
  fakes = await startDevFakes();
});
afterAll(async () => {
  await fakes.close();
});

/**
 * What a host process started with the stack's `processEnv` does to mint, as the openai-realtime
 * kind will: the real managed-identity credential, the global fetch, the fake's certificate
 * trusted through NODE_EXTRA_CA_CERTS. Prints the status and the answer's model.
 */
const MINT_IN_ANOTHER_PROCESS = `
const { ManagedIdentityCredential } = await import('@azure/identity');
const [endpoint, deployment] = process.argv.slice(1);
const { token } = await new ManagedIdentityCredential().getToken('https://cognitiveservices.azure.com/.default');
const answer = await fetch(endpoint + '/openai/v1/realtime/client_secrets', {
  method: 'POST',
  headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
  body: JSON.stringify({ session: { type: 'realtime', model: deployment } }),
});
const body = await answer.json();
console.log(JSON.stringify({ status: answer.status, model: body.session?.model }));
`;

describe("the dev stack's Azure OpenAI", () => {
  it("mints for a process given the stack's environment: its managed identity, the fakes' CA", async () => {
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', MINT_IN_ANOTHER_PROCESS, fakes.openai.url, STACK_REALTIME.deployment],
      { cwd: repositoryRoot(), env: { ...process.env, ...fakes.processEnv } },
    );
    expect(JSON.parse(stdout)).toEqual({ status: 200, model: STACK_REALTIME.deployment });
    expect(fakes.openai.mints).toMatchObject([
      { account: STACK_REALTIME.account, host: 'loopback', auth: 'entra', status: 200 },
    ]);
  });

  it('is keyless, as the Bicep deploys it', async () => {
    const answer = await fakes.openai.fetch(`${fakes.openai.url}/openai/v1/realtime/client_secrets`, {
      method: 'POST',
      headers: { 'api-key': fakes.openai.keys(STACK_REALTIME.account)[0], 'Content-Type': 'application/json' },
      body: JSON.stringify({ session: { type: 'realtime', model: STACK_REALTIME.deployment } }),
    });
    expect(answer.status).toBe(403);
  });
});
