import { STACK_REALTIME } from '../devstack/localStack.js';
import { startSandbox, SANDBOX_FACTS } from './sandbox.js';

// `npm run sandbox`: everything local, nothing from Azure. Ctrl+C stops it all.
const sandbox = await startSandbox({
  apiPort: Number(process.env.PORT ?? 7071),
  demoPort: Number(process.env.DEMO_PORT ?? 5173),
  hostOutput: 'inherit',
});
const token = await sandbox.stack.callerToken();
const environment = Object.entries(sandbox.stack.processEnv)
  .map(([name, value]) => `${name}=${value}`)
  .join(' ');
console.log(`
AI token vending sandbox: no Azure account needed, every upstream is a local fake.

  API (npm run dev's host)   ${sandbox.stack.apiUrl}
  demo page                  ${sandbox.demoUrl}
  fake Entra ID              ${sandbox.stack.entra.authorityHost}  (tenant ${SANDBOX_FACTS.tenantId}, audience ${SANDBOX_FACTS.audience})
  fake Key Vault             ${sandbox.stack.vault.vaultUrl}
  fake Azure AI STS          ${sandbox.stack.cognitive.url}
  fake Resource Manager      ${sandbox.stack.arm.url}  (key rotation)
  fake Blob Storage          ${sandbox.stack.blob.url}  (the rotation lease)
  fake Azure OpenAI          ${sandbox.stack.openai.url}  (GPT Realtime keys and a WebRTC peer)
  resources                  speech (role Speech.Token), translator (scope Translator.Use),
                             ${STACK_REALTIME.resource} (openai-realtime, role ${STACK_REALTIME.role})

The demo's Talk panel connects to the fake Azure OpenAI, whose certificate is self-signed: open
${sandbox.stack.openai.url} once and accept it, or start Chromium with
--ignore-certificate-errors-spki-list=${sandbox.stack.openai.spkiPin}

Open the demo page, or try it with curl (this caller token is valid for an hour):

  curl -s ${sandbox.stack.apiUrl}/token/speech -H "Authorization: Bearer ${token}"

Check every resource end to end, and rotate the keys, against the fakes (the environment is the
fake managed identity and the fakes' CA; --settings is the settings file the sandbox's host reads):

  ${environment} npm run doctor -- --settings ${sandbox.stack.settingsPath}
  ${environment} npm run rotate -- --settings ${sandbox.stack.settingsPath} --leaked

Ctrl+C to stop.
`);
const stop = () => {
  sandbox.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
