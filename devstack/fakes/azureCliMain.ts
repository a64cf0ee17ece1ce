// The process behind the fake `az` and `azd` executables that createFakeAzureCli writes:
// `node azureCliMain.js az|azd <args>`, with FAKE_AZURE_CLI_STATE naming the state file.
import { runFakeCli } from './azureCli.js';

const [cli = '', ...args] = process.argv.slice(2);
const statePath = process.env.FAKE_AZURE_CLI_STATE;
if (statePath === undefined) {
  process.stderr.write('fake Azure CLI: FAKE_AZURE_CLI_STATE is not set\n');
  process.exitCode = 2;
} else {
  const { stdout, stderr, exitCode } = runFakeCli(statePath, cli, args);
  process.stdout.write(stdout);
  process.stderr.write(stderr);
  process.exitCode = exitCode;
}
