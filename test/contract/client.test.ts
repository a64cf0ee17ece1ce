import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { openApiText } from '../../src/contract/openapi.js';

/**
 * The client's public `VendedToken`, relative to this file. The one line to change when the client
 * moves (to `../../packages/client/src/vendedToken.js`).
 */
const CLIENT_VENDED_TOKEN = '../../packages/client/src/vendedToken.js';

const clientModule = fileURLToPath(new URL(CLIENT_VENDED_TOKEN, import.meta.url));
const directories: string[] = [];

afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

// What the client does with a 200 answer (client/vendedToken.ts receiveVendedToken): `expiresOn`
// becomes a Date, every other field is taken as sent. If the document's answer type cannot become
// the client's VendedToken that way, the two have drifted apart.
const CHECK = `
import type { operations } from './api.js';
import type { VendedToken } from ${JSON.stringify(clientModule.replace(/\.ts$/, '.js'))};

type Answer<Operation extends 'getToken' | 'postToken'> =
  operations[Operation]['responses'][200]['content']['application/json'];
type IsAny<T> = 0 extends 1 & T ? true : false;

export function receive(answer: Answer<'getToken'>): VendedToken {
  return { ...answer, expiresOn: new Date(answer.expiresOn) };
}
export const receivePost: (answer: Answer<'postToken'>) => VendedToken = receive;
// An \`any\` would accept everything and prove nothing.
export const answerIsTyped: IsAny<Answer<'getToken'>> = false;
`;

/** Generates types from `document` with openapi-typescript and compiles CHECK against them; the compiler's complaints. */
async function typeCheck(document: string): Promise<string[]> {
  const directory = mkdtempSync(join(tmpdir(), 'openapi-client-'));
  directories.push(directory);
  writeFileSync(join(directory, 'api.ts'), astToString(await openapiTS(document)));
  writeFileSync(join(directory, 'check.ts'), CHECK);
  writeFileSync(join(directory, 'package.json'), '{ "type": "module" }');
  const program = ts.createProgram([join(directory, 'check.ts')], {
    noEmit: true,
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    // The client's own build: the browser's library, no Node types.
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    types: [],
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

describe('the TypeScript client and openapi.json', () => {
  it("the client's VendedToken takes the token answer the document describes", async () => {
    expect(await typeCheck(openApiText())).toEqual([]);
  });

  it('the check bites: without `region` in the document the client type no longer fits', async () => {
    const changed = JSON.parse(openApiText()) as {
      components: { schemas: { VendedToken: { properties: Record<string, unknown>; required: string[] } } };
    };
    const token = changed.components.schemas.VendedToken;
    delete token.properties.region;
    token.required = token.required.filter((name) => name !== 'region');
    const complaints = await typeCheck(JSON.stringify(changed));
    expect(complaints.join('\n')).toMatch(/Property 'region' is missing/);
  });
});
