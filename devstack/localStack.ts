import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startFakeArm, type FakeArm } from './fakes/arm.js';
import { startFakeAppInsights, type FakeAppInsights } from './fakes/appInsights.js';
import { startFakeAzureOpenAI, type FakeAzureOpenAI } from './fakes/azureOpenAI.js';
import { startFakeBlobStorage, type FakeBlobStorage } from './fakes/blobStorage.js';
import { startFakeCognitive, type FakeCognitive } from './fakes/cognitive.js';
import { startFakeEntra, type FakeEntra } from './fakes/entra.js';
import { startFakeKeyVault, type FakeKeyVault } from './fakes/keyVault.js';
import { startFakeManagedIdentity, type FakeManagedIdentity } from './fakes/managedIdentity.js';
import { writeCertificateFile } from './fakes/tls.js';
import { repositoryRoot } from './repository.js';

export { repositoryRoot };

export const STACK_TENANT_ID = '5a0c1b2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';
export const STACK_AUDIENCE = 'api://token-vending-sandbox';
export const STACK_KEYS = {
  speech: 'c0ffee00c0ffee00c0ffee00c0ffee00',
  translator: 'Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa9Zx8Yw7Vu6Ts5Rq4Po3Nm2Lk1Ji0HgFeDcBa1Zx2Yw3Vu4TZ',
} as const;

/**
 * The stack's Azure OpenAI account, answering at `openai.url`: one realtime deployment, keyless
 * (`disableLocalAuth`), the app's managed identity holding "Cognitive Services OpenAI User"; and
 * the `openai-realtime` resource in TOKEN_RESOURCES that mints there, for callers with `role`.
 */
export const STACK_REALTIME = {
  account: 'aoai-sandbox',
  deployment: 'gpt-realtime',
  model: 'gpt-realtime',
  resource: 'assistant',
  role: 'Realtime.Talk',
  instructions: 'You are the front desk of the sandbox. Keep answers short.',
  voice: 'marin',
} as const;

/** The accounts behind the stack's resources, as the ARM fake knows them. */
export const STACK_ACCOUNT_IDS = {
  speech:
    '/subscriptions/00000000-0000-4000-8000-00000000000a/resourceGroups/rg-sandbox/providers/Microsoft.CognitiveServices/accounts/speech-sandbox',
  translator:
    '/subscriptions/00000000-0000-4000-8000-00000000000a/resourceGroups/rg-sandbox/providers/Microsoft.CognitiveServices/accounts/translator-sandbox',
} as const;

export interface LocalStackOptions extends DevFakesOptions {
  /** 0 picks a free port. */
  readonly port?: number;
  /**
   * Host output: kept in memory for inspection, passed to this process's stdout/stderr, or written
   * to a file (the benchmark: costs this process nothing per line).
   */
  readonly hostOutput?: 'capture' | 'inherit' | 'file';
}

/** The dev fakes and the local host serving the functions against them. */
export interface LocalStack extends Omit<DevFakes, 'close'> {
  /** `http://127.0.0.1:PORT/api`. */
  readonly apiUrl: string;
  readonly hostOutput: string[];
  /** The host process's id (the benchmark reads its CPU time). */
  readonly hostPid: number | undefined;
  /** Stops the host, then the fakes. */
  stop(): Promise<void>;
}

/** The fakes of a local stack and the files a host process reads, without the host. */
export interface DevFakes {
  readonly entra: FakeEntra;
  readonly vault: FakeKeyVault;
  readonly cognitive: FakeCognitive;
  readonly identity: FakeManagedIdentity;
  /** Azure Resource Manager for the resources' accounts (key rotation), tied to the STS fake. */
  readonly arm: FakeArm;
  /**
   * Azure OpenAI's realtime surface (STACK_REALTIME), taking the managed identity's tokens; the
   * `assistant` resource mints there, at `openai.url`.
   */
  readonly openai: FakeAzureOpenAI;
  /** The app's storage account (AzureWebJobsStorage__blobServiceUri), where the rotation leases live. */
  readonly blob: FakeBlobStorage;
  /** Application Insights ingestion, when the stack was asked to export telemetry. */
  readonly appInsights: FakeAppInsights | undefined;
  /** A local.settings.json pointing at the fakes. */
  readonly settingsPath: string;
  /** The fakes' certificate, for NODE_EXTRA_CA_CERTS in other processes. */
  readonly certificatePath: string;
  /** A scratch directory removed by `close()`. */
  readonly directory: string;
  /**
   * What a process run against the fakes needs in its environment, as Azure gives a function app:
   * the managed-identity endpoint (so the real credential reads the fake vault) and the fakes' CA.
   */
  readonly processEnv: Readonly<Record<string, string>>;
  /** A caller token the host accepts, with the Speech.Token and Realtime.Talk roles and the Translator.Use scope. */
  callerToken(claims?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export interface DevFakesOptions {
  readonly corsOrigins?: readonly string[];
  readonly rateLimitPerMinute?: number;
  /** `callerLimitPerMinute` of the realtime resource. Default 6, as the Bicep's; 0: none of its own. */
  readonly realtimeCallerLimitPerMinute?: number;
  /** Delay before every answer of Entra, Key Vault, the STS and Azure OpenAI, in ms. Default 0. */
  readonly upstreamLatencyMs?: number;
  /** Delay before every answer of Azure OpenAI alone, in ms. Default: `upstreamLatencyMs`. */
  readonly openaiLatencyMs?: number;
  /** Settings beside the stack's own in local.settings.json `Values` (e.g. KEY_ROTATION_SCHEDULE). */
  readonly settings?: Readonly<Record<string, string>>;
  /**
   * Export telemetry to a fake Application Insights ingestion (TLS, a managed-identity token),
   * sending metrics every `exportIntervalMs` (OTEL_METRIC_EXPORT_INTERVAL). Default: no telemetry.
   */
  readonly telemetry?: { readonly exportIntervalMs?: number };
}

const MONITOR = 'https://monitor.azure.com';

/**
 * Fake Entra, Key Vault, STS, ARM, Azure OpenAI, Blob Storage and managed identity in this process,
 * and settings pointing at them: Speech and Translator (STS), and the realtime resource (keyless,
 * minting at the Azure OpenAI fake with the managed identity). Key rotation is on (every 30 days):
 * both STS resources have an account at the ARM fake, whose first key is the one in their secret,
 * tagged as key1 from now; the rotation
 * lease lives in the Blob Storage fake, as in the app's own storage account in Azure. With
 * `telemetry`, a fake Application Insights ingestion too.
 */
export async function startDevFakes(options: DevFakesOptions = {}): Promise<DevFakes> {
  const latencyMs = options.upstreamLatencyMs ?? 0;
  const entra = await startFakeEntra({ tenantId: STACK_TENANT_ID, latencyMs });
  const vault = await startFakeKeyVault({ latencyMs });
  const cognitive = await startFakeCognitive({
    keys: [
      { key: STACK_KEYS.speech, cloud: 'AzureCloud', subdomain: 'loopback' },
      { key: STACK_KEYS.translator, cloud: 'AzureCloud', subdomain: 'loopback' },
    ],
    latencyMs,
  });
  const identity = await startFakeManagedIdentity();
  // ARM takes the tokens the managed-identity fake issued for it, as the real one takes Entra's.
  const arm = await startFakeArm({
    cognitive,
    acceptToken: (token) => identity.tokensFor('https://management.azure.com').includes(token),
    latencyMs,
  });
  const openai = await startFakeAzureOpenAI({
    accounts: [
      {
        name: STACK_REALTIME.account,
        deployments: { [STACK_REALTIME.deployment]: STACK_REALTIME.model },
        localAuthDisabled: true,
      },
    ],
    acceptToken: (token, audience) => identity.tokensFor(audience).includes(token),
    latencyMs: options.openaiLatencyMs ?? latencyMs,
  });
  const blob = await startFakeBlobStorage({
    acceptToken: (token) => identity.tokensFor('https://storage.azure.com').includes(token),
    latencyMs,
  });
  const loopback = { cloud: 'AzureCloud', subdomain: 'loopback' } as const;
  arm.addAccount(STACK_ACCOUNT_IDS.speech, loopback, { key1: STACK_KEYS.speech });
  arm.addAccount(STACK_ACCOUNT_IDS.translator, loopback, { key1: STACK_KEYS.translator });
  const tags = { keyName: 'key1', rotatedAt: new Date().toISOString() };
  vault.setSecret('speech-key', STACK_KEYS.speech, { tags });
  vault.setSecret('translator-key', STACK_KEYS.translator, { tags });
  const appInsights =
    options.telemetry === undefined
      ? undefined
      : await startFakeAppInsights({
          acceptToken: (token) => token !== undefined && identity.tokensFor(MONITOR).includes(token),
        });
  const telemetrySettings =
    appInsights === undefined
      ? {}
      : {
          APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.connectionString,
          APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
          OTEL_METRIC_EXPORT_INTERVAL: String(options.telemetry?.exportIntervalMs ?? 60_000),
        };

  const directory = mkdtempSync(join(tmpdir(), 'token-vending-stack-'));
  const certificatePath = writeCertificateFile(directory);
  const settingsPath = join(directory, 'local.settings.json');
  writeFileSync(
    settingsPath,
    JSON.stringify(
      {
        IsEncrypted: false,
        Values: {
          AUTH_TENANT_ID: STACK_TENANT_ID,
          AUTH_AUDIENCES: STACK_AUDIENCE,
          AUTH_AUTHORITY_HOST: entra.authorityHost,
          KEY_VAULT_URI: vault.vaultUrl,
          RATE_LIMIT_PER_MINUTE: String(options.rateLimitPerMinute ?? 0),
          KEY_ROTATION_DAYS: '30',
          ARM_ENDPOINT: arm.url,
          AzureWebJobsStorage__blobServiceUri: blob.url,
          ...telemetrySettings,
          TOKEN_RESOURCES: JSON.stringify([
            {
              name: 'speech',
              kind: 'speech',
              endpoint: cognitive.url,
              // The fake's own URL serves every path, as a subdomain behind a private endpoint does.
              privateEndpoint: true,
              secretName: 'speech-key',
              allowedRoles: ['Speech.Token'],
              resourceId: STACK_ACCOUNT_IDS.speech,
            },
            {
              name: 'translator',
              kind: 'translator',
              // Translator takes no token from a resource behind a private endpoint, so the sandbox's
              // is one open to all networks on its own host: the region is given, as Azure needs.
              endpoint: cognitive.url,
              region: 'westeurope',
              secretName: 'translator-key',
              allowedScopes: ['Translator.Use'],
              resourceId: STACK_ACCOUNT_IDS.translator,
            },
            {
              name: STACK_REALTIME.resource,
              kind: 'openai-realtime',
              endpoint: openai.url,
              region: 'eastus2',
              deployment: STACK_REALTIME.deployment,
              session: {
                instructions: STACK_REALTIME.instructions,
                audio: { output: { voice: STACK_REALTIME.voice } },
              },
              allowedRoles: [STACK_REALTIME.role],
              ...((options.realtimeCallerLimitPerMinute ?? 6) > 0
                ? { callerLimitPerMinute: options.realtimeCallerLimitPerMinute ?? 6 }
                : {}),
            },
          ]),
          ...options.settings,
        },
        Host: { CORS: (options.corsOrigins ?? []).join(',') },
      },
      null,
      2,
    ),
  );
  return {
    entra,
    vault,
    cognitive,
    identity,
    arm,
    openai,
    blob,
    appInsights,
    settingsPath,
    certificatePath,
    directory,
    processEnv: { ...identity.env, NODE_EXTRA_CA_CERTS: certificatePath },
    callerToken: (claims = {}) =>
      entra.mint({
        aud: STACK_AUDIENCE,
        roles: ['Speech.Token', STACK_REALTIME.role],
        scp: 'Translator.Use',
        name: 'Sandbox User',
        ...claims,
      }),
    async close() {
      await Promise.all([
        entra.close(),
        vault.close(),
        cognitive.close(),
        identity.close(),
        arm.close(),
        openai.close(),
        blob.close(),
        appInsights?.close(),
      ]);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The command line that starts the local host (`npm run serve`) with the given settings file. */
export function hostCommand(settingsPath: string): readonly string[] {
  return [join(repositoryRoot(), 'dist', 'devstack', 'host', 'main.js'), '--settings', settingsPath];
}

/**
 * Fake Entra, Key Vault and STS in this process, and the real local host (`npm run serve`) in a
 * child process pointed at them: the whole system, no Azure.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const fakes = await startDevFakes(options);
  const { directory, settingsPath, processEnv } = fakes;
  const hostOutput: string[] = [];
  const mode = options.hostOutput ?? 'capture';
  const logPath = join(directory, 'host.log');
  const logFile = mode === 'file' ? openSync(logPath, 'w') : undefined;
  const host = spawn(process.execPath, [...hostCommand(settingsPath)], {
    env: { ...process.env, PORT: String(options.port ?? 0), ...processEnv },
    stdio: logFile === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFile, logFile],
  });
  if (logFile !== undefined) closeSync(logFile);
  const stopFakes = () => fakes.close();
  let apiUrl: string;
  try {
    apiUrl =
      mode === 'file' ? await waitForListeningInFile(host, logPath) : await waitForListening(host, hostOutput, mode);
  } catch (error) {
    host.kill();
    await stopFakes();
    throw error;
  }
  return {
    ...fakes,
    apiUrl,
    hostOutput,
    hostPid: host.pid,
    async stop() {
      await stopProcess(host);
      await stopFakes();
    },
  };
}

async function waitForListeningInFile(host: ChildProcess, logPath: string): Promise<string> {
  for (let waited = 0; waited < 15_000 && host.exitCode === null; waited += 50) {
    const line = readFileSync(logPath, 'utf8')
      .split('\n')
      .find((l) => l.includes('"event":"listening"'));
    if (line !== undefined) return (JSON.parse(line) as { url: string }).url;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`local host did not start:\n${readFileSync(logPath, 'utf8')}`);
}

function waitForListening(host: ChildProcess, output: string[], mode: 'capture' | 'inherit'): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`local host did not start in 15 s:\n${output.join('\n')}`)),
      15_000,
    );
    const onLine = (stream: 'out' | 'err') => (line: string) => {
      output.push(line);
      if (mode === 'inherit') (stream === 'out' ? process.stdout : process.stderr).write(`${line}\n`);
      if (line.includes('"event":"listening"')) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    };
    if (host.stdout !== null) createInterface({ input: host.stdout }).on('line', onLine('out'));
    if (host.stderr !== null) createInterface({ input: host.stderr }).on('line', onLine('err'));
    host.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local host exited with ${code}:\n${output.join('\n')}`));
    });
  });
}

/** Ends a child process with SIGTERM and waits for it to exit; one that already exited is left alone. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
