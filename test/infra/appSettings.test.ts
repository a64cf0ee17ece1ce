/**
 * infra/ and src/config/settings.ts cannot drift: the app settings the Bicep writes are the ones the
 * code reads, and the TOKEN_RESOURCES it builds is one the code accepts, in every cloud the code knows.
 *
 * With a Bicep compiler (tools/bicep, fetched by `npm run infra:check`, or bicep on PATH) this runs
 * `bicep snapshot`, which expands main.bicep and its modules for sample parameters with the real
 * deployment engine. The values only Azure knows while deploying (environment(), reference() of a
 * resource or module output) are stubbed here and evaluated by ./armExpressions.ts, and the result
 * goes through the code's own loadConfig(). Without a compiler, CI fails (run `npm run infra:check`
 * first); a local run falls back to reading the .bicep source, which checks names and keys only.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUD_NAMES, type CloudName } from '../../src/model.js';
import { APP_SETTING_NAMES, RESOURCE_FIELDS, loadConfig } from '../../src/config/settings.js';
import { CLOUDS } from '../../src/clouds/clouds.js';
import { openApiText } from '../../src/contract/openapi.js';
import { ERROR_CATALOG } from '../../src/errors/catalog.js';
import { CORRELATION_ID_PATTERN } from '../../src/http/headers.js';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { findBicepCompiler } from '../support/bicep.js';
import { ArmEvaluator, DeploymentFailure, templateFunctions, type AzureReads, type Value } from './armExpressions.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const infra = join(root, 'infra');

/** Read by the Functions host or the Azure SDK, not by src/config/settings.ts. */
const PLATFORM_SETTING = /^(AzureWebJobsStorage__\w+|APPLICATIONINSIGHTS_[A-Z_]+|FUNCTIONS_[A-Z_]+)$/;
/** @azure/identity's DefaultAzureCredential picks the user-assigned identity by this client ID. */
const SDK_SETTINGS = new Set(['AZURE_CLIENT_ID']);
/**
 * Optional in the code: they default by the resources' cloud (the authority host, and Azure Resource
 * Manager), which the Bicep writes into TOKEN_RESOURCES, so the Bicep leaves them out. Every other
 * setting the code reads is written.
 */
const OPTIONAL_CODE_SETTINGS = new Set<string>(['AUTH_AUTHORITY_HOST', 'ARM_ENDPOINT']);

const compiler = findBicepCompiler();
if (compiler === undefined && process.env.CI) {
  throw new Error('No Bicep compiler (tools/bicep or bicep on PATH): run `npm run infra:check` before `npm test`; it fetches one.');
}

// ---------------------------------------------------------------------------------------------
// Sample deployments, one per cloud: a new regional resource, a new custom-subdomain resource and
// an existing account referenced by ID.

interface SampleResource {
  name: string;
  kind: 'speech' | 'translator' | 'cognitive';
  region: string;
  allowedRoles: string[];
  allowedScopes: string[];
  existingResourceId?: string;
  customSubdomain?: boolean;
  privateEndpoint?: boolean;
  rotate?: boolean;
  failover?: { region: string; existingResourceId?: string; customSubdomain?: boolean; privateEndpoint?: boolean; rotate?: boolean };
}

const existingAccount = (name: string) =>
  `/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/shared-ai/providers/Microsoft.CognitiveServices/accounts/${name}`;

const SAMPLES: Record<CloudName, SampleResource[]> = {
  AzureCloud: [
    { name: 'speech', kind: 'speech', region: 'japanwest', allowedRoles: ['Speech.Token'], allowedScopes: [] },
    { name: 'translator', kind: 'translator', region: 'global', allowedRoles: [], allowedScopes: ['Tokens.Request'], customSubdomain: true },
    { name: 'shared', kind: 'cognitive', region: 'West Europe', allowedRoles: ['Tokens.All'], allowedScopes: ['Tokens.Request'], existingResourceId: existingAccount('shared-weu'), rotate: true },
  ],
  AzureChinaCloud: [
    { name: 'speech', kind: 'speech', region: 'chinaeast2', allowedRoles: ['Speech.Token'], allowedScopes: [] },
    { name: 'translator', kind: 'translator', region: 'chinanorth2', allowedRoles: [], allowedScopes: ['Tokens.Request'], customSubdomain: true },
    { name: 'shared', kind: 'cognitive', region: 'chinanorth3', allowedRoles: ['Tokens.All'], allowedScopes: [], existingResourceId: existingAccount('shared-cn3') },
  ],
  AzureUSGovernment: [
    { name: 'speech', kind: 'speech', region: 'usgovvirginia', allowedRoles: ['Speech.Token'], allowedScopes: [], customSubdomain: true, privateEndpoint: true },
    { name: 'translator', kind: 'translator', region: 'usgovarizona', allowedRoles: [], allowedScopes: ['Tokens.Request'], customSubdomain: true },
    { name: 'shared', kind: 'cognitive', region: 'usgovarizona', allowedRoles: ['Tokens.All'], allowedScopes: [], existingResourceId: existingAccount('shared-az') },
  ],
};

/** Which account key each sample deployment stores (aiKeyName): both sides of a rotation are covered. */
const KEY_NAME: Record<CloudName, 'key1' | 'key2'> = { AzureCloud: 'key1', AzureChinaCloud: 'key1', AzureUSGovernment: 'key2' };

/**
 * keyRotationDays of each sample: on in the public cloud (the existing account opted in with rotate),
 * off in China, on in US Government (its existing account not opted in, so not rotated).
 */
const ROTATION_DAYS: Record<CloudName, number> = { AzureCloud: 30, AzureChinaCloud: 0, AzureUSGovernment: 7 };

/** Whether the service rotates a sample's key: created accounts by default, existing ones that opt in. */
const isRotated = (cloud: CloudName, sample: SampleResource) =>
  ROTATION_DAYS[cloud] > 0 && (sample.rotate ?? sample.existingResourceId === undefined);

const KEY_VAULT_SECRETS_OFFICER = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7';
const KEY_VAULT_SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';

/** What Azure itself answers in each cloud (the design's "upstream facts"), not the code's tables. */
const CLOUD_FACTS: Record<CloudName, { customSubdomainSuffix: string; vaultSuffix: string; loginEndpoint: string; storageSuffix: string }> = {
  AzureCloud: { customSubdomainSuffix: 'cognitiveservices.azure.com', vaultSuffix: 'vault.azure.net', loginEndpoint: 'https://login.microsoftonline.com/', storageSuffix: 'core.windows.net' },
  AzureChinaCloud: { customSubdomainSuffix: 'cognitiveservices.azure.cn', vaultSuffix: 'vault.azure.cn', loginEndpoint: 'https://login.chinacloudapi.cn/', storageSuffix: 'core.chinacloudapi.cn' },
  AzureUSGovernment: { customSubdomainSuffix: 'cognitiveservices.azure.us', vaultSuffix: 'vault.usgovcloudapi.net', loginEndpoint: 'https://login.microsoftonline.us/', storageSuffix: 'core.usgovcloudapi.net' },
};

/** The realtime sample (realtimeEnabled): public cloud, beside the AzureCloud STS samples. */
const REALTIME_PARAMETERS = {
  realtimeEnabled: true,
  realtimeName: 'assistant',
  realtimeLocation: 'Sweden Central',
  realtimeDeploymentName: 'voice',
  realtimeModelName: 'gpt-realtime',
  realtimeModelVersion: '2025-08-28',
  realtimeCapacity: 20,
  realtimeAllowedRoles: 'Assistant.Talk, Assistant.Admin',
  realtimeInstructions: 'You are the front desk of Contoso.',
  realtimeVoice: 'cedar',
} as const;
/** What Azure answers as the realtime account's endpoint (kind OpenAI: the openai.azure.com host). */
const REALTIME_ENDPOINT = 'https://cog-assistant-drift.openai.azure.com';
const COGNITIVE_SERVICES_OPENAI_USER = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd';
const IDENTITY_PRINCIPAL_ID = '00000000-0000-0000-0000-00000000eeee';

const SUBSCRIPTION_ID = '00000000-0000-0000-0000-00000000aaaa';
const TENANT_ID = '00000000-0000-0000-0000-00000000bbbb';
const IDENTITY_CLIENT_ID = '00000000-0000-0000-0000-00000000cccc';
const AUDIENCE = 'api://00000000-0000-0000-0000-00000000dddd';

/** Azure's answers during a deployment in `cloud`, for the accounts in `sample`. */
function azureReads(cloud: CloudName, sample: readonly SampleResource[], locations: Record<string, string> = {}): AzureReads {
  const facts = CLOUD_FACTS[cloud];
  return {
    environment: { name: cloud, authentication: { loginEndpoint: facts.loginEndpoint } },
    resource(resourceId, full) {
      const account = /\/providers\/Microsoft\.CognitiveServices\/accounts\/([^/]+)$/i.exec(resourceId)?.[1];
      if (account === undefined) throw new Error(`unexpected reference(${resourceId})`);
      // Every sample account is given its custom subdomain: an account without one would be refused
      // by the template for a customSubdomain item, and the regional items never read it.
      const properties = { endpoint: `https://${account}.${facts.customSubdomainSuffix}/`, customSubDomainName: account };
      const existing = sample
        .flatMap((r) => (r.failover === undefined ? [r] : [r, r.failover]))
        .find((r) => r.existingResourceId?.toLowerCase() === resourceId.toLowerCase());
      const location = locations[resourceId] ?? (existing ? existing.region.toLowerCase().replace(/\s+/g, '') : 'unknown');
      return full ? { location, properties } : properties;
    },
    moduleOutputs(deploymentName) {
      // Bicep names module deployments <symbol>-<unique suffix>.
      const outputs: Record<string, Record<string, Value>> = {
        vault: { name: 'kv-drift', uri: `https://kv-drift.${facts.vaultSuffix}/` },
        identity: { id: '/subscriptions/x/resourceGroups/rg-drift/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-drift', principalId: IDENTITY_PRINCIPAL_ID, clientId: IDENTITY_CLIENT_ID },
        storage: { name: 'stdrift', deploymentContainerUrl: 'https://stdrift.blob.core.windows.net/app-package' },
        api: { name: 'func-drift', uri: 'https://func-drift.azurewebsites.net' },
        monitoring: { connectionString: 'InstrumentationKey=00000000-0000-0000-0000-00000000ffff;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/' },
        realtime: { endpoint: REALTIME_ENDPOINT, deploymentName: REALTIME_PARAMETERS.realtimeDeploymentName },
      };
      const found = outputs[deploymentName.split('-')[0]!];
      if (found === undefined) throw new Error(`unexpected reference to the outputs of deployment ${deploymentName}`);
      return found;
    },
  };
}

function bicepLiteral(value: unknown): string {
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\$\{/g, '\\${')}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(bicepLiteral).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{ ${Object.entries(value).map(([key, v]) => `${key}: ${bicepLiteral(v)}`).join(', ')} }`;
  }
  throw new TypeError(`no Bicep literal for ${String(value)}`);
}

interface PredictedResource {
  readonly type: string;
  readonly name: string;
  readonly properties?: Record<string, unknown>;
}

type Snapshot = { ok: true; resources: PredictedResource[] } | { ok: false; message: string };

let workDir = '';

/** `bicep snapshot` of main.bicep with these parameters: what the deployment engine would deploy. */
async function snapshot(label: string, parameters: Record<string, unknown>): Promise<Snapshot> {
  const file = join(workDir, `${label}.bicepparam`);
  const using = relative(workDir, join(infra, 'main.bicep')).split('\\').join('/');
  writeFileSync(file, [`using '${using}'`, ...Object.entries(parameters).map(([k, v]) => `param ${k} = ${bicepLiteral(v)}`)].join('\n'));
  try {
    await run(compiler!, ['snapshot', file, '--mode', 'overwrite', '--subscription-id', SUBSCRIPTION_ID, '--tenant-id', TENANT_ID, '--location', 'westeurope'], { maxBuffer: 64 << 20 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return { ok: false, message: `${stdout}${stderr}` };
  }
  const json = JSON.parse(readFileSync(join(workDir, `${label}.snapshot.json`), 'utf8')) as { predictedResources: PredictedResource[] };
  return { ok: true, resources: json.predictedResources };
}

const baseParameters = { environmentName: 'drift', location: 'westeurope', authAudiences: AUDIENCE };
/** The optional API Management front door, on in every cloud sample. */
const GATEWAY_PARAMETERS = { apiManagementName: 'apim-drift', apiManagementRateLimitPerMinute: 45, corsAllowedOrigins: ['https://app.contoso.com'] };

// ---------------------------------------------------------------------------------------------
// Without a compiler (local runs only): the names and keys as written in the .bicep source.

function objectKeysAfter(source: string, marker: string): string[] {
  const start = source.indexOf(marker);
  if (start === -1) throw new Error(`"${marker}" not found; update test/infra/appSettings.test.ts`);
  const open = source.indexOf(marker.endsWith('[') ? '[' : '{', start + marker.length - 1);
  let depth = 0;
  let end = open;
  for (; end < source.length; end++) {
    if ('{['.includes(source[end]!)) depth++;
    if ('}]'.includes(source[end]!) && --depth === 0) break;
  }
  const block = source.slice(open + 1, end).replace(/\/\/.*$/gm, '');
  return [...block.matchAll(/(?:^|[{,])\s*([A-Za-z_]\w*)\s*:/gm)].map((m) => m[1]!);
}

function fromSource(): { settings: string[]; tokenResourceKeys: string[] } {
  const app = readFileSync(join(infra, 'modules', 'functionApp.bicep'), 'utf8');
  const main = readFileSync(join(infra, 'main.bicep'), 'utf8');
  const settings = objectKeysAfter(app.slice(app.indexOf("'Microsoft.Web/sites/config@")), 'properties: {');
  const realtime = main.slice(main.indexOf('realtimeTokenResources:') + 'realtimeTokenResources:'.length, main.indexOf('rateLimitPerMinute:', main.indexOf('realtimeTokenResources:')));
  const realtimeKeys = [...realtime.replace(/\/\/.*$/gm, '').matchAll(/(?:^|[{,])\s*([A-Za-z_]\w*)\s*:/gm)].map((m) => m[1]!);
  const tokenResourceKeys = [...objectKeysAfter(main, 'tokenResources: [').filter((k) => k !== 'for'), ...realtimeKeys];
  return { settings, tokenResourceKeys };
}

// ---------------------------------------------------------------------------------------------

const samples = new Map<CloudName, Snapshot>();
let grantsNobody: Snapshot | undefined;
let template: Record<string, unknown> = {};

/** Rotation settings the deployment refuses, as the code would at start-up. */
const ROTATION_REFUSALS = {
  'a secret age as long as the period': { keyRotationDays: 1, secretMaxAgeMinutes: 1440 },
  'a five-field schedule': { keyRotationDays: 30, keyRotationSchedule: '0 */6 * * *' },
  'nothing to rotate': {
    keyRotationDays: 30,
    aiResources: [{ name: 'shared', kind: 'cognitive', region: 'westeurope', allowedRoles: ['R'], allowedScopes: [], existingResourceId: existingAccount('shared-weu') }],
  },
  'two rotated items on one account': {
    keyRotationDays: 30,
    aiResources: ['a', 'b'].map((name) => ({ name, kind: 'cognitive', region: 'westeurope', allowedRoles: ['R'], allowedScopes: [], existingResourceId: existingAccount('shared-weu'), rotate: true })),
  },
} as const;
const refusals = new Map<string, Snapshot>();
/** AUTH_ALLOWED_CLIENT_APPS of each sample: two apps in the public cloud, the default (any) elsewhere. */
const ALLOWED_CLIENT_APPS: Record<CloudName, string> = {
  AzureCloud: '00000000-0000-0000-0000-0000000000a1, 00000000-0000-0000-0000-0000000000a2',
  AzureChinaCloud: '',
  AzureUSGovernment: '',
};
/** The parameters of a cloud's sample deployment. */
const sampleParameters = (cloud: CloudName) => ({
  ...baseParameters,
  aiResources: SAMPLES[cloud],
  aiKeyName: KEY_NAME[cloud],
  keyRotationDays: ROTATION_DAYS[cloud],
  ...(ALLOWED_CLIENT_APPS[cloud] === '' ? {} : { authAllowedClientApps: ALLOWED_CLIENT_APPS[cloud] }),
  ...GATEWAY_PARAMETERS,
});
let realtimeSample: Snapshot | undefined;
/** The failover sample: paired accounts in a second region, one created, one existing. */
let failoverSample: Snapshot | undefined;
const FAILOVER_SAMPLE: SampleResource[] = [
  { name: 'speech', kind: 'speech', region: 'japanwest', allowedRoles: ['Speech.Token'], allowedScopes: [], failover: { region: 'Japan East' } },
  {
    name: 'shared', kind: 'cognitive', region: 'westeurope', allowedRoles: ['Tokens.All'], allowedScopes: [], customSubdomain: true,
    failover: { region: 'northeurope', existingResourceId: existingAccount('shared-neu'), customSubdomain: true, rotate: true },
  },
];
const FAILOVER_PARAMETERS = { ...baseParameters, aiResources: FAILOVER_SAMPLE, keyRotationDays: 30 };
/** The public cloud's sample without API Management in front. */
let noGatewaySample: Snapshot | undefined;

beforeAll(async () => {
  if (compiler === undefined) return;
  workDir = mkdtempSync(join(tmpdir(), 'infra-drift-'));
  const refusalNames = Object.keys(ROTATION_REFUSALS) as (keyof typeof ROTATION_REFUSALS)[];
  const [built, refused, realtimeOn, noGateway, failoverOn, ...rest] = await Promise.all([
    run(compiler, ['build', join(infra, 'main.bicep'), '--stdout'], { maxBuffer: 64 << 20 }),
    snapshot('grants-nobody', { ...baseParameters, aiResources: [{ name: 'open', kind: 'speech', region: 'westeurope', allowedRoles: [], allowedScopes: [] }] }),
    snapshot('realtime', { ...sampleParameters('AzureCloud'), ...REALTIME_PARAMETERS }),
    snapshot('no-gateway', { ...baseParameters, aiResources: SAMPLES.AzureCloud }),
    snapshot('failover', FAILOVER_PARAMETERS),
    ...CLOUD_NAMES.map((cloud) => snapshot(cloud, sampleParameters(cloud))),
    ...refusalNames.map((name, i) => snapshot(`refused-${i}`, { ...baseParameters, aiResources: SAMPLES.AzureCloud, ...ROTATION_REFUSALS[name] })),
  ]);
  template = JSON.parse(built.stdout) as Record<string, unknown>;
  grantsNobody = refused;
  realtimeSample = realtimeOn;
  noGatewaySample = noGateway;
  failoverSample = failoverOn;
  CLOUD_NAMES.forEach((cloud, i) => samples.set(cloud, rest[i]!));
  refusalNames.forEach((name, i) => refusals.set(name, rest[CLOUD_NAMES.length + i]!));
  // Eleven compiler runs side by side: on a shared 2-core machine under load they took up to 2.5 minutes.
}, 300_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function deployed(cloud: CloudName): PredictedResource[] {
  const result = samples.get(cloud);
  if (result === undefined) throw new Error(`bicep snapshot not run for ${cloud}`);
  if (!result.ok) throw new Error(`bicep snapshot failed for ${cloud}:\n${result.message}`);
  return result.resources;
}

function appSettingsOf(resources: readonly PredictedResource[]): Record<string, unknown> {
  const config = resources.find((r) => r.type === 'Microsoft.Web/sites/config' && r.name.endsWith('/appsettings'));
  if (config?.properties === undefined) throw new Error('the snapshot has no Microsoft.Web/sites/config appsettings');
  return config.properties;
}

function evaluatedSettings(cloud: CloudName): Record<string, string> {
  const evaluator = new ArmEvaluator(azureReads(cloud, SAMPLES[cloud]), { functions: templateFunctions(template) });
  const settings = evaluator.value(appSettingsOf(deployed(cloud)));
  return settings as Record<string, string>;
}

function settingNamesWritten(): string[] {
  return compiler === undefined ? fromSource().settings : Object.keys(appSettingsOf(deployed('AzureCloud')));
}

function tokenResourceItems(): Record<string, unknown>[] {
  return [
    ...CLOUD_NAMES.flatMap((cloud) => JSON.parse(evaluatedSettings(cloud).TOKEN_RESOURCES!) as Record<string, unknown>[]),
    ...(JSON.parse(failoverSettings().TOKEN_RESOURCES!) as Record<string, unknown>[]),
  ];
}

function failoverResources(): PredictedResource[] {
  if (failoverSample === undefined) throw new Error('bicep snapshot not run for the failover sample');
  if (!failoverSample.ok) throw new Error(`bicep snapshot failed for the failover sample:\n${failoverSample.message}`);
  return failoverSample.resources;
}

function failoverSettings(): Record<string, string> {
  const evaluator = new ArmEvaluator(azureReads('AzureCloud', FAILOVER_SAMPLE), { functions: templateFunctions(template) });
  return evaluator.value(appSettingsOf(failoverResources())) as Record<string, string>;
}

describe('app settings: infra/ writes exactly what src/config/settings.ts reads', () => {
  it('every setting the Bicep writes is read by the code (or by the platform), and every required code setting is written', () => {
    const written = settingNamesWritten();
    const forTheCode = written.filter((name) => !PLATFORM_SETTING.test(name) && !SDK_SETTINGS.has(name));
    const read: readonly string[] = APP_SETTING_NAMES;

    expect(forTheCode.filter((name) => !read.includes(name)), 'written by infra/, read by nobody').toEqual([]);
    expect(read.filter((name) => !OPTIONAL_CODE_SETTINGS.has(name) && !written.includes(name)), 'read by the code, never written').toEqual([]);
    // The optional one is left to its per-cloud default on purpose; if it ever becomes required, this says so.
    expect([...OPTIONAL_CODE_SETTINGS].every((name) => read.includes(name))).toBe(true);
  });

  it('TOKEN_RESOURCES items carry only fields the code parses, and between them every field it parses', () => {
    const fields: readonly string[] = RESOURCE_FIELDS;
    if (compiler === undefined) {
      const keys = fromSource().tokenResourceKeys;
      expect(keys.filter((k) => !fields.includes(k))).toEqual([]);
      expect([...fields].sort()).toEqual([...new Set(keys)].sort());
      return;
    }
    const items = tokenResourceItems();
    // The realtime sample's item, beside the STS items of every cloud.
    if (realtimeSample?.ok !== true) throw new Error('bicep snapshot not run for the realtime sample');
    const realtimeItem = (
      JSON.parse(
        (
          mainEvaluator({ ...sampleParameters('AzureCloud'), ...REALTIME_PARAMETERS } as unknown as Record<string, Value>).value(
            appSettingsOf(realtimeSample.resources),
          ) as Record<string, string>
        ).TOKEN_RESOURCES!,
      ) as Record<string, unknown>[]
    ).at(-1)!;
    for (const item of [...items, realtimeItem]) {
      expect(Object.keys(item).filter((k) => !fields.includes(k)), `unknown fields in ${JSON.stringify(item)}`).toEqual([]);
      // The region always (the Speech REST hosts need it without a private endpoint), the subdomain when there is one.
      expect('region' in item, JSON.stringify(item)).toBe(true);
    }
    expect([...new Set([...items, realtimeItem].flatMap((item) => Object.keys(item)))].sort()).toEqual([...fields].sort());
  });
});

describe.skipIf(compiler === undefined)('as deployed: the code accepts what the Bicep writes', () => {
  it.each(CLOUD_NAMES)('in %s, loadConfig() accepts the settings and sees the resources the parameters list', (cloud) => {
    const settings = evaluatedSettings(cloud);
    const config = loadConfig(settings);

    expect(config.auth.tenantId).toBe(TENANT_ID);
    expect(config.auth.audiences).toEqual([AUDIENCE]);
    expect(config.auth.cloud).toBe(cloud);
    expect(config.auth.allowedClientApps).toEqual(ALLOWED_CLIENT_APPS[cloud] === '' ? [] : ALLOWED_CLIENT_APPS[cloud].split(', '));
    expect(config.keyVaultUri).toBe(`https://kv-drift.${CLOUD_FACTS[cloud].vaultSuffix}`);
    expect(config.rateLimitPerMinute).toBe(60);
    expect(config.rotation).toEqual({
      periodDays: ROTATION_DAYS[cloud],
      schedule: expect.objectContaining({ expression: '0 0 */6 * * *' }),
      armEndpoint: null,
      // The rotation lease lives in the host's own storage account, named by AzureWebJobsStorage__accountName.
      leaseBlobServiceUrl: `https://stdrift.blob.${CLOUD_FACTS[cloud].storageSuffix}`,
    });
    expect(config.secretMaxAgeMs).toBe(60 * 60_000);
    expect(config.resources.map((r) => ({ ...r }))).toEqual(
      SAMPLES[cloud].map((sample) => ({
        name: sample.name,
        kind: sample.kind,
        cloud,
        region: sample.region.toLowerCase().replace(/\s+/g, ''),
        endpoint: sample.customSubdomain
          ? expect.stringMatching(new RegExp(`^https://cog-${sample.name}-[a-z0-9]{13}\\.${CLOUD_FACTS[cloud].customSubdomainSuffix.replace(/\./g, '\\.')}$`))
          : null,
        privateEndpoint: sample.privateEndpoint ?? false,
        secretName: `${sample.name}-key`,
        allowedRoles: sample.allowedRoles,
        allowedScopes: sample.allowedScopes,
        // The account's ID exactly for the keys the service rotates.
        resourceId: !isRotated(cloud, sample)
          ? null
          : sample.existingResourceId ?? expect.stringMatching(new RegExp(`^/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-drift/providers/Microsoft\\.CognitiveServices/accounts/cog-${sample.name}-[a-z0-9]{13}$`)),
      })),
    );
  });

  it.each(CLOUD_NAMES)('in %s, each secret TOKEN_RESOURCES names is written by listKeys() of that item\'s own account', (cloud) => {
    const resources = deployed(cloud);
    const evaluator = new ArmEvaluator(azureReads(cloud, SAMPLES[cloud]), { functions: templateFunctions(template) });
    const secrets = new Map(
      resources
        .filter((r) => r.type === 'Microsoft.KeyVault/vaults/secrets')
        .map((r) => [(evaluator.value(r.name) as string).split('/')[1], String(r.properties?.value)]),
    );
    const items = JSON.parse(evaluatedSettings(cloud).TOKEN_RESOURCES!) as { name: string; secretName: string }[];
    expect([...secrets.keys()].sort()).toEqual(items.map((i) => i.secretName).sort());
    // Every version the deployment writes carries the tags the rotation reads.
    for (const secret of resources.filter((r) => r.type === 'Microsoft.KeyVault/vaults/secrets')) {
      expect((secret as { tags?: unknown }).tags).toEqual({ keyName: KEY_NAME[cloud], rotatedAt: '[utcNow()]' });
    }
    for (const sample of SAMPLES[cloud]) {
      const account = sample.existingResourceId ?? `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-drift/providers/Microsoft.CognitiveServices/accounts/cog-${sample.name}-`;
      expect(secrets.get(`${sample.name}-key`)).toMatch(new RegExp(`^\\[listKeys\\('${account.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}[a-z0-9]*', '[\\d-]+'\\)\\.${KEY_NAME[cloud]}\\]$`));
    }
  });

  it('no app setting holds a key or a connection secret; the host reaches storage and telemetry through the identity', () => {
    for (const [name, value] of Object.entries(appSettingsOf(deployed('AzureCloud')))) {
      expect(String(value), name).not.toMatch(/listKeys|AccountKey=|SharedAccessSignature|listSecrets/i);
    }
    const settings = evaluatedSettings('AzureCloud');
    expect(settings.AzureWebJobsStorage__credential).toBe('managedidentity');
    expect(settings.AzureWebJobsStorage__clientId).toBe(IDENTITY_CLIENT_ID);
    expect(settings.AZURE_CLIENT_ID).toBe(IDENTITY_CLIENT_ID);
    expect(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toBe(`ClientId=${IDENTITY_CLIENT_ID};Authorization=AAD`);
  });
});

/**
 * main.bicep's expressions for these parameters (over the defaults and the base ones), in this cloud:
 * what a snapshot leaves unevaluated because it reads environment() or another deployment.
 */
function mainEvaluator(parameters: Record<string, Value>, cloud = 'AzureCloud'): ArmEvaluator {
  const reads: AzureReads = { ...azureReads('AzureCloud', SAMPLES.AzureCloud), environment: { name: cloud } };
  const defaults = Object.fromEntries(
    Object.entries(template.parameters as Record<string, { defaultValue?: Value }>).map(([k, p]) => [k, p.defaultValue ?? null]),
  );
  return new ArmEvaluator(reads, {
    functions: templateFunctions(template),
    variables: template.variables as Record<string, unknown>,
    resources: template.resources as Record<string, unknown>,
    parameters: { ...defaults, ...baseParameters, ...parameters },
  });
}

/** A variable of main.bicep evaluated for these parameters, in this cloud. */
function mainVariable(name: string, parameters: Record<string, Value>, cloud = 'AzureCloud'): Value {
  return mainEvaluator(parameters, cloud).expression(`variables('${name}')`);
}

describe.skipIf(compiler === undefined)('refused at deployment, as the code would refuse it at start-up', () => {
  const item = (overrides: Partial<SampleResource>) =>
    ({ name: 'speech', kind: 'speech', region: 'westeurope', allowedRoles: ['Speech.Token'], allowedScopes: [], ...overrides }) as unknown as Value;

  it('an item that grants nobody (the deployment engine itself stops it)', () => {
    expect(grantsNobody?.ok).toBe(false);
    expect(grantsNobody && !grantsNobody.ok ? grantsNobody.message : '').toContain('aiResources "open" grants nobody');
  });

  it('names the code or Azure would refuse, duplicates, and a malformed existingResourceId', () => {
    expect(mainVariable('resources', { aiResources: [item({})] })).toEqual([item({})]);
    expect(() => mainVariable('resources', { aiResources: [item({ name: 'speech_eu' })] })).toThrow(/letters, digits and "-" only/);
    expect(() => mainVariable('resources', { aiResources: [item({ name: '-speech' })] })).toThrow(DeploymentFailure);
    expect(() => mainVariable('resources', { aiResources: [item({}), item({ name: 'Speech' })] })).toThrow(/names must be unique/);
    expect(() => mainVariable('resources', { aiResources: [item({ existingResourceId: '/subscriptions/x/resourceGroups/y' })] })).toThrow(/must be an account ID/);
    expect(() => mainVariable('resources', { aiResources: [item({ allowedRoles: [], allowedScopes: [] })] })).toThrow(/grants nobody/);
    expect(() => mainVariable('resources', { aiResources: [item({ privateEndpoint: true })] })).toThrow(/privateEndpoint needs customSubdomain/);
    expect(() =>
      mainVariable('resources', { aiResources: [item({ kind: 'translator', customSubdomain: true, privateEndpoint: true })] }),
    ).toThrow(/Translator takes no access tokens from a resource behind a private endpoint/);
  });

  it('CORS * and a cloud whose endpoints the code does not know', () => {
    expect(mainVariable('allowedOrigins', { corsAllowedOrigins: ['https://app.contoso.com'] })).toEqual(['https://app.contoso.com']);
    expect(() => mainVariable('allowedOrigins', { corsAllowedOrigins: ['*'] })).toThrow(/\* is refused/);
    expect(() => mainVariable('allowedOrigins', { corsAllowedOrigins: ['https://app.contoso.com/'] })).toThrow(
      /https:\/\/app\.contoso\.com\/ is not an origin: give scheme, host and port only/,
    );
    expect(() =>
      mainVariable('allowedOrigins', { corsAllowedOrigins: ['https://a.contoso.com', 'https://b.contoso.com/app'] }),
    ).toThrow(/https:\/\/b\.contoso\.com\/app is not an origin/);
    expect(mainVariable('allowedOrigins', { corsAllowedOrigins: ['http://localhost:5173'] })).toEqual(['http://localhost:5173']);
    for (const cloud of CLOUD_NAMES) expect(mainVariable('cloud', {}, cloud)).toBe(cloud);
    expect(() => mainVariable('cloud', {}, 'AzureGermanCloud')).toThrow(/AzureGermanCloud is not supported/);
  });

  it('more always-ready instances than the app may scale to', () => {
    expect(mainVariable('alwaysReady', {})).toBe(0);
    expect(mainVariable('alwaysReady', { alwaysReadyInstances: 2 })).toBe(2);
    expect(() => mainVariable('alwaysReady', { alwaysReadyInstances: 5, maximumInstanceCount: 4 })).toThrow(/cannot exceed maximumInstanceCount/);
  });

  it('an existing account in another region than its item names', () => {
    const keys = (template.resources as Record<string, { properties: { template: { resources: Record<string, unknown>; outputs: Record<string, { value: string }> } } }>).keys!;
    const accountId = existingAccount('shared-weu');
    const evaluate = (location: string) =>
      new ArmEvaluator(azureReads('AzureCloud', [], { [accountId]: location }), {
        functions: templateFunctions(template),
        resources: keys.properties.template.resources,
        parameters: {
          itemName: 'shared', accountName: 'shared-weu', expectedRegion: 'West Europe', customSubdomain: false,
          accountSubscriptionId: '11111111-2222-3333-4444-555555555555', accountResourceGroupName: 'shared-ai',
        },
      }).value(keys.properties.template.outputs.region!.value);
    expect(evaluate('westeurope')).toBe('westeurope');
    expect(() => evaluate('northeurope')).toThrow(/account shared-weu is in northeurope, not West Europe/);
  });
});

/** The scope of a role assignment as the snapshot predicts it: `[extensionResourceId('<scope>', …)]`. */
function assignments(cloud: CloudName): { scope: string; role: string }[] {
  return deployed(cloud)
    .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
    .map((r) => ({
      scope: /^\[extensionResourceId\('([^']+)'/.exec((r as { id?: string }).id ?? '')?.[1] ?? '',
      role: (typeof r.properties?.roleDefinitionId === 'string' ? r.properties.roleDefinitionId : '').split('/').at(-1) ?? '',
    }));
}

describe.skipIf(compiler === undefined)('key rotation as deployed', () => {
  it.each(CLOUD_NAMES)('in %s, the app settings carry keyRotationDays, the schedule and the secret age', (cloud) => {
    const settings = evaluatedSettings(cloud);
    expect([settings.KEY_ROTATION_DAYS, settings.KEY_ROTATION_SCHEDULE, settings.SECRET_MAX_AGE_MINUTES]).toEqual([String(ROTATION_DAYS[cloud]), '0 0 */6 * * *', '60']);
  });

  it.each(CLOUD_NAMES)('in %s, a custom role with exactly listKeys and regenerateKey, assigned on each rotated account and nowhere else', (cloud) => {
    const roles = deployed(cloud).filter((r) => r.type === 'Microsoft.Authorization/roleDefinitions');
    const rotated = SAMPLES[cloud].filter((sample) => isRotated(cloud, sample));
    if (rotated.length === 0) {
      expect(roles).toEqual([]);
      expect(assignments(cloud).map((a) => a.role).sort()).toEqual(
        ['3913510d-42f4-4e42-8a64-420c390055eb', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', KEY_VAULT_SECRETS_USER].sort(),
      );
      return;
    }
    expect(roles).toHaveLength(1);
    const [role] = roles;
    expect(role!.properties).toMatchObject({
      type: 'CustomRole',
      permissions: [{ actions: ['Microsoft.CognitiveServices/accounts/listKeys/action', 'Microsoft.CognitiveServices/accounts/regenerateKey/action'], notActions: [] }],
    });
    // Assignable wherever a rotated account lives: this subscription, and an existing account's.
    expect(role!.properties?.assignableScopes).toEqual([
      `/subscriptions/${SUBSCRIPTION_ID}`,
      ...new Set(rotated.flatMap((sample) => (sample.existingResourceId === undefined ? [] : [sample.existingResourceId.split('/').slice(0, 3).join('/')]))),
    ]);
    const onAccounts = assignments(cloud).filter((a) => a.role === role!.name).map((a) => a.scope);
    const created = new RegExp(`^/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-drift/providers/Microsoft\\.CognitiveServices/accounts/cog-(.+)-[a-z0-9]{13}$`);
    const label = (scope: string) => { const match = created.exec(scope); return match ? `created ${match[1]}` : scope; };
    expect(onAccounts.map(label).sort()).toEqual(rotated.map((sample) => sample.existingResourceId ?? `created ${sample.name}`).sort());
  });

  it.each(CLOUD_NAMES)('in %s, Key Vault Secrets Officer on each rotated key\'s secret alone, never on the vault', (cloud) => {
    const officer = assignments(cloud).filter((a) => a.role === KEY_VAULT_SECRETS_OFFICER).map((a) => a.scope.split('/').slice(-2).join('/'));
    expect(officer.sort()).toEqual(SAMPLES[cloud].filter((sample) => isRotated(cloud, sample)).map((sample) => `secrets/${sample.name}-key`).sort());
    // The vault itself: Secrets User (read) only.
    const onVault = assignments(cloud).filter((a) => /\/vaults\/[^/]+$/.test(a.scope)).map((a) => a.role);
    expect(onVault).toEqual([KEY_VAULT_SECRETS_USER]);
  });

  it('a rotated key\'s secret is written only when it does not exist yet; an unrotated one on every deployment', () => {
    const keys = (template.resources as Record<string, { properties: { template: { resources: Record<string, Record<string, unknown>> } } }>).keys!;
    const { firstVersion, everyVersion } = keys.properties.template.resources;
    expect(firstVersion).toMatchObject({ condition: "[parameters('rotated')]", '@options': { onlyIfNotExists: [] }, type: 'Microsoft.KeyVault/vaults/secrets' });
    expect(everyVersion).toMatchObject({ condition: "[not(parameters('rotated'))]", type: 'Microsoft.KeyVault/vaults/secrets' });
    expect(everyVersion).not.toHaveProperty('@options');
    // Both write the same version: the same name, value, tags and content type.
    const written = (declared: Record<string, unknown>) => Object.fromEntries(Object.entries(declared).filter(([key]) => key !== 'condition' && key !== '@options'));
    expect(written(firstVersion!)).toEqual(written(everyVersion!));
  });

  it.each(Object.keys(ROTATION_REFUSALS))('refuses %s, as the code would at start-up', (name) => {
    const result = refusals.get(name);
    expect(result?.ok).toBe(false);
    const message = result && !result.ok ? result.message : '';
    expect(message).toMatch(
      {
        'a secret age as long as the period': /secretMaxAgeMinutes \(1440\) plus 5 minutes must be shorter than keyRotationDays \(1\)/,
        'a five-field schedule': /keyRotationSchedule "0 \*\/6 \* \* \*" must be NCRONTAB with six fields/,
        'nothing to rotate': /keyRotationDays is set, but no aiResources item is rotated/,
        'two rotated items on one account': /two rotated items name the same existing account/,
      }[name]!,
    );
  });
});

describe('the API Management front door (apiManagementName)', () => {
  const gatewayResource = (cloud: CloudName, type: string) => {
    const found = deployed(cloud).find((r) => r.type === type);
    if (found?.properties === undefined) throw new Error(`the snapshot has no ${type}`);
    // The snapshot leaves the module's tenantId inside a lambda; it is the deployment's tenant.
    const context = { functions: templateFunctions(template), parameters: { tenantId: TENANT_ID } };
    return new ArmEvaluator(azureReads(cloud, SAMPLES[cloud]), context).value(found.properties) as Record<string, unknown>;
  };

  it('infra/apim/openapi.json is the document the code builds', () => {
    expect(readFileSync(join(infra, 'apim', 'openapi.json'), 'utf8'), 'stale: run `npm run openapi:apim` and commit it').toBe(openApiText());
  });

  it.skipIf(compiler === undefined)('imports the OpenAPI document the build writes, in front of the function app, with no subscription key', () => {
    const api = gatewayResource('AzureCloud', 'Microsoft.ApiManagement/service/apis');
    expect(api).toMatchObject({ path: 'token-vending-drift', protocols: ['https'], serviceUrl: 'https://func-drift.azurewebsites.net', subscriptionRequired: false, format: 'openapi+json' });
    expect(api.value).toBe(openApiText());
  });

  it.skipIf(compiler === undefined).each(CLOUD_NAMES)("%s: the policy validates the tenant's tokens for AUTH_AUDIENCES and limits per caller; nothing left unfilled", (cloud) => {
    const policy = gatewayResource(cloud, 'Microsoft.ApiManagement/service/apis/policies');
    expect(policy.format).toBe('rawxml');
    const xml = String(policy.value);
    expect(xml).not.toMatch(/__[A-Z_]+__/);
    const login = CLOUD_FACTS[cloud].loginEndpoint;
    expect(xml).toContain(`<openid-config url="${login}${TENANT_ID}/v2.0/.well-known/openid-configuration" />`);
    expect(xml).toContain(`<audiences><audience>${AUDIENCE}</audience></audiences>`);
    // The issuers the code accepts for the cloud: v2.0 from discovery, and the v1.0 hosts.
    const issuers = [`${login}${TENANT_ID}/v2.0`, ...CLOUDS[cloud].v1IssuerHosts.map((host) => `https://${host}/${TENANT_ID}/`)];
    expect(xml).toContain(`<issuers>${issuers.map((issuer) => `<issuer>${issuer}</issuer>`).join('')}</issuers>`);
    expect(xml).toContain('<rate-limit-by-key calls="45" renewal-period="60"');
    expect(xml).toContain('<origin>https://app.contoso.com</origin>');
  });

  it('the policy refuses a token that names no client application (an ID token) before it counts against the caller\'s limit', () => {
    const xml = readFileSync(join(infra, 'apim', 'policy.xml'), 'utf8');
    const refusal = xml.indexOf('Claims.ContainsKey("azp") || ((Jwt)context.Variables["caller"]).Claims.ContainsKey("appid")');
    expect(refusal).toBeGreaterThan(xml.indexOf('<validate-jwt'));
    expect(refusal).toBeLessThan(xml.indexOf('<rate-limit-by-key'));
    // The refusal is the function's own: 401 invalid_token.
    const answer = xml.slice(refusal, xml.indexOf('<rate-limit-by-key'));
    expect(answer).toContain('<set-status code="401"');
    expect(answer).toContain('new JProperty("code", "invalid_token")');
  });

  const siteConfigOf = (resources: readonly PredictedResource[]) => {
    const site = resources.find((r) => r.type === 'Microsoft.Web/sites');
    const evaluator = new ArmEvaluator(azureReads('AzureCloud', SAMPLES.AzureCloud), { functions: templateFunctions(template) });
    return (evaluator.value(site?.properties ?? {}) as { siteConfig: Record<string, unknown> }).siteConfig;
  };

  it.skipIf(compiler === undefined).each(CLOUD_NAMES)('%s: with the gateway, the function takes traffic from API Management only (service tag)', (cloud) => {
    expect(siteConfigOf(deployed(cloud))).toMatchObject({
      ipSecurityRestrictionsDefaultAction: 'Deny',
      ipSecurityRestrictions: [{ action: 'Allow', tag: 'ServiceTag', ipAddress: 'ApiManagement', priority: 100 }],
    });
  });

  it.skipIf(compiler === undefined)('without a gateway, the function is open to callers as before', () => {
    if (!noGatewaySample?.ok) throw new Error(`bicep snapshot failed without a gateway: ${noGatewaySample?.message ?? 'not run'}`);
    expect(noGatewaySample.resources.some((r) => r.type.startsWith('Microsoft.ApiManagement/'))).toBe(false);
    expect(siteConfigOf(noGatewaySample.resources)).toMatchObject({ ipSecurityRestrictionsDefaultAction: 'Allow', ipSecurityRestrictions: [] });
  });

  it("the gateway's own refusals are the service's problems: codes, titles, type and correlation id pattern", () => {
    const xml = readFileSync(join(infra, 'apim', 'policy.xml'), 'utf8');
    for (const code of ['rate_limited', 'invalid_token'] as const) {
      expect(xml).toContain(`new JProperty("type", "${PROBLEM_TYPE_BASE}${code}")`);
      expect(xml).toContain(`new JProperty("title", "${ERROR_CATALOG[code].title}")`);
      expect(xml).toContain(`new JProperty("status", ${ERROR_CATALOG[code].status})`);
      expect(xml).toContain(`new JProperty("code", "${code}")`);
    }
    expect(xml).toContain(`"${CORRELATION_ID_PATTERN.source}"`);
  });
});

describe('main.parameters.json (what azd passes)', () => {
  it.skipIf(compiler === undefined)('names only parameters main.bicep declares, and every one it requires', () => {
    const file = JSON.parse(readFileSync(join(infra, 'main.parameters.json'), 'utf8')) as { parameters: Record<string, unknown> };
    const declared = template.parameters as Record<string, { defaultValue?: unknown }>;
    expect(Object.keys(file.parameters).filter((name) => !(name in declared))).toEqual([]);
    expect(Object.keys(declared).filter((name) => declared[name]!.defaultValue === undefined && !(name in file.parameters))).toEqual([]);
  });
});

describe.skipIf(compiler === undefined)('GPT Realtime (realtimeEnabled)', () => {
  const realtimeResources = (): PredictedResource[] => {
    if (realtimeSample === undefined) throw new Error('bicep snapshot not run for the realtime sample');
    if (!realtimeSample.ok) throw new Error(`bicep snapshot failed for the realtime sample:\n${realtimeSample.message}`);
    return realtimeSample.resources;
  };
  /** A resource or setting of the realtime sample, evaluated as the deployment would. */
  const evaluated = (value: unknown) =>
    mainEvaluator({ ...sampleParameters('AzureCloud'), ...REALTIME_PARAMETERS } as unknown as Record<string, Value>).value(value);
  const realtimeSettings = () => evaluated(appSettingsOf(realtimeResources())) as Record<string, string>;
  const openAIAccounts = (resources: readonly PredictedResource[]) =>
    resources.filter((r) => r.type === 'Microsoft.CognitiveServices/accounts' && (r as { kind?: string }).kind === 'OpenAI');

  it.each(CLOUD_NAMES)('is off by default: in %s, no OpenAI account, deployment or data role, nothing realtime in TOKEN_RESOURCES', (cloud) => {
    const resources = deployed(cloud);
    expect(openAIAccounts(resources)).toEqual([]);
    expect(resources.filter((r) => r.type === 'Microsoft.CognitiveServices/accounts/deployments')).toEqual([]);
    expect(assignments(cloud).map((a) => a.role)).not.toContain(COGNITIVE_SERVICES_OPENAI_USER);
    const kinds = (JSON.parse(evaluatedSettings(cloud).TOKEN_RESOURCES!) as { kind: string }[]).map((item) => item.kind);
    expect(kinds).not.toContain('openai-realtime');
  });

  it('adds its account, deployment and role assignment to the same deployment, and changes nothing else but TOKEN_RESOURCES', () => {
    const key = (r: PredictedResource) => `${r.type} ${JSON.stringify(r.name)}`;
    const without = (resources: readonly PredictedResource[]) => resources.filter((r) => !r.name.endsWith('/appsettings'));
    const before = new Map(without(deployed('AzureCloud')).map((r) => [key(r), r]));
    const added = without(realtimeResources()).filter((r) => !before.has(key(r)));
    expect(added.map((r) => r.type).sort()).toEqual([
      'Microsoft.Authorization/roleAssignments',
      'Microsoft.CognitiveServices/accounts',
      'Microsoft.CognitiveServices/accounts/deployments',
    ]);
    for (const r of without(realtimeResources()).filter((r) => before.has(key(r)))) expect(r).toEqual(before.get(key(r)));
    expect(without(realtimeResources())).toHaveLength(before.size + 3);
  });

  it('creates a keyless OpenAI account with its custom subdomain, in the region asked for', () => {
    const accounts = openAIAccounts(realtimeResources());
    expect(accounts).toHaveLength(1);
    const account = evaluated(accounts[0]) as { name: string; location: string; sku: unknown; properties: unknown };
    expect(account.name).toMatch(/^cog-assistant-[a-z0-9]{13}$/);
    expect(account).toMatchObject({ location: 'swedencentral', sku: { name: 'S0' } });
    expect(account.properties).toEqual({ customSubDomainName: account.name, disableLocalAuth: true, publicNetworkAccess: 'Enabled' });
  });

  it('deploys the model as GlobalStandard with the capacity and version asked for', () => {
    const deployments = realtimeResources().filter((r) => r.type === 'Microsoft.CognitiveServices/accounts/deployments');
    expect(deployments).toHaveLength(1);
    expect(deployments[0]!.name).toMatch(/\/voice$/);
    expect(deployments[0]).toMatchObject({
      sku: { name: 'GlobalStandard', capacity: 20 },
      properties: { model: { format: 'OpenAI', name: 'gpt-realtime', version: '2025-08-28' } },
    });
  });

  it("gives the function's identity Cognitive Services OpenAI User on that account alone", () => {
    const onAccount = realtimeResources()
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
      .filter((r) => String(r.properties?.roleDefinitionId).endsWith(COGNITIVE_SERVICES_OPENAI_USER));
    expect(onAccount).toHaveLength(1);
    const scope = /^\[extensionResourceId\('([^']+)'/.exec((onAccount[0] as { id?: string }).id ?? '')?.[1];
    expect(scope).toMatch(/\/resourceGroups\/rg-drift\/providers\/Microsoft\.CognitiveServices\/accounts\/cog-assistant-[a-z0-9]{13}$/);
    expect(evaluated(onAccount[0]!.properties)).toMatchObject({ principalId: IDENTITY_PRINCIPAL_ID, principalType: 'ServicePrincipal' });
  });

  it("writes the realtime item into TOKEN_RESOURCES in design.md's shape, after the STS items, which stay as they were", () => {
    const items = JSON.parse(realtimeSettings().TOKEN_RESOURCES!) as Record<string, unknown>[];
    expect(items.slice(0, -1)).toEqual(JSON.parse(evaluatedSettings('AzureCloud').TOKEN_RESOURCES!));
    expect(items.at(-1)).toEqual({
      name: 'assistant',
      kind: 'openai-realtime',
      cloud: 'AzureCloud',
      endpoint: REALTIME_ENDPOINT,
      region: 'swedencentral',
      deployment: 'voice',
      session: { instructions: 'You are the front desk of Contoso.', audio: { output: { voice: 'cedar' } } },
      allowedRoles: ['Assistant.Talk', 'Assistant.Admin'],
      allowedScopes: [],
      callerLimitPerMinute: 6,
    });
    // The code reads the item as written: keyless (no secretName), the session kept whole.
    const config = loadConfig(realtimeSettings());
    expect(config.resources.at(-1)).toEqual({
      name: 'assistant',
      kind: 'openai-realtime',
      cloud: 'AzureCloud',
      region: 'swedencentral',
      endpoint: REALTIME_ENDPOINT,
      privateEndpoint: false,
      secretName: '',
      auth: 'identity',
      deployment: 'voice',
      session: { instructions: 'You are the front desk of Contoso.', audio: { output: { voice: 'cedar' } } },
      allowedRoles: ['Assistant.Talk', 'Assistant.Admin'],
      allowedScopes: [],
      resourceId: null,
      callerLimitPerMinute: 6,
    });
    expect(config.warnings).toEqual([]);
  });

  it('gives the account endpoint without its trailing slash, as TOKEN_RESOURCES wants it', () => {
    const module = (template.resources as Record<string, { properties: { template: { outputs: Record<string, { value: string }>; resources: Record<string, unknown> } } }>).realtime!;
    const evaluate = (endpoint: string) =>
      new ArmEvaluator(
        { ...azureReads('AzureCloud', []), resource: (_id, full) => (full ? { location: 'eastus2', properties: { endpoint } } : { endpoint }) },
        { functions: templateFunctions(template), resources: module.properties.template.resources, parameters: { name: 'cog-assistant-x' } },
      ).value(module.properties.template.outputs.endpoint!.value);
    expect(evaluate('https://cog-assistant-x.openai.azure.com/')).toBe('https://cog-assistant-x.openai.azure.com');
    expect(evaluate('https://cog-assistant-x.openai.azure.com')).toBe('https://cog-assistant-x.openai.azure.com');
  });

  it('leaves callerLimitPerMinute out at 0 (RATE_LIMIT_PER_MINUTE alone), and the instructions out when empty', () => {
    // The api module's parameter as main.bicep computes it: `{ value: [the realtime item] }`, empty when off.
    const api = (template.resources as Record<string, { properties: { parameters: Record<string, unknown> } }>).api!;
    const realtimeItems = (parameters: Record<string, Value>) =>
      (
        mainEvaluator({ aiResources: SAMPLES.AzureCloud as unknown as Value, realtimeEnabled: true, ...parameters }).value(
          api.properties.parameters.realtimeTokenResources,
        ) as { value: Record<string, unknown>[] }
      ).value;
    const [item] = realtimeItems({ realtimeCallerLimitPerMinute: 0 });
    expect(item).not.toHaveProperty('callerLimitPerMinute');
    expect(item?.session).toEqual({ audio: { output: { voice: 'marin' } } });
    expect(realtimeItems({ realtimeCallerLimitPerMinute: 3 })[0]?.callerLimitPerMinute).toBe(3);
    expect(realtimeItems({ realtimeAllowedRoles: ' A, ,B ' })[0]?.allowedRoles).toEqual(['A', 'B']);
    expect(realtimeItems({ realtimeEnabled: false })).toEqual([]);
  });

  it('refuses a region without GPT Realtime, another cloud, a bad or taken name, and a resource that grants nobody', () => {
    const region = (parameters: Record<string, Value>, cloud = 'AzureCloud') =>
      mainVariable('realtimeRegion', { aiResources: SAMPLES.AzureCloud as unknown as Value, realtimeEnabled: true, ...parameters }, cloud);
    expect(mainVariable('realtimeRegion', { aiResources: SAMPLES.AzureCloud as unknown as Value })).toBe('');
    expect(region({})).toBe('eastus2');
    expect(region({ realtimeLocation: 'Sweden Central' })).toBe('swedencentral');
    expect(() => region({ realtimeLocation: 'westeurope' })).toThrow(
      'realtimeLocation "westeurope": GPT Realtime (GA) runs in global deployments in eastus2 and swedencentral only; choose one of them (the rest of the deployment may stay in westeurope).',
    );
    expect(() => region({}, 'AzureUSGovernment')).toThrow(/GPT Realtime runs in eastus2 and swedencentral of the public cloud only, not in AzureUSGovernment/);
    expect(() => region({ realtimeName: 'front_desk' })).toThrow(/realtimeName "front_desk": the name may hold letters, digits and "-" only/);
    expect(() => region({ realtimeName: 'Speech' })).toThrow(/realtimeName "Speech" is also an aiResources name/);
    expect(() => region({ realtimeAllowedRoles: ' , ', realtimeAllowedScopes: '' })).toThrow(/would grant nobody/);
    expect(region({ realtimeAllowedRoles: '', realtimeAllowedScopes: 'Assistant.Use' })).toBe('eastus2');
  });
});

describe.skipIf(compiler === undefined)('failover: a paired account in a second region (aiResources failover)', () => {
  const created = (name: string) =>
    new RegExp(`^/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-drift/providers/Microsoft\\.CognitiveServices/accounts/${name}$`);

  it('TOKEN_RESOURCES names the paired account as a fallback the code accepts: its region, its own secret, its ID when rotated', () => {
    const config = loadConfig(failoverSettings());
    expect(config.resources.map((r) => r.failover?.map((m) => ({ ...m })))).toEqual([
      [
        {
          name: 'speech.failover[0]', kind: 'speech', cloud: 'AzureCloud', region: 'japaneast', endpoint: null, privateEndpoint: false,
          secretName: 'speech-key-failover', allowedRoles: ['Speech.Token'], allowedScopes: [],
          resourceId: expect.stringMatching(created('cog-speech-[a-z0-9]{13}-2')),
        },
      ],
      [
        {
          name: 'shared.failover[0]', kind: 'cognitive', cloud: 'AzureCloud', region: 'northeurope',
          endpoint: 'https://shared-neu.cognitiveservices.azure.com', privateEndpoint: false,
          secretName: 'shared-key-failover', allowedRoles: ['Tokens.All'], allowedScopes: [], resourceId: existingAccount('shared-neu'),
        },
      ],
    ]);
    expect(config.warnings).toEqual([]);
  });

  it('creates the paired account of the kind in its region, and leaves an existing one where it is', () => {
    const accounts = failoverResources().filter((r) => r.type === 'Microsoft.CognitiveServices/accounts');
    const paired = accounts.filter((r) => r.name.endsWith('-2'));
    expect(paired.map((r) => [(r as { kind?: string }).kind, (r as { location?: string }).location])).toEqual([['SpeechServices', 'Japan East']]);
    expect(accounts.some((r) => r.name.includes('shared-neu'))).toBe(false);
  });

  it("writes each paired account's key into its own secret, from that account's listKeys()", () => {
    const evaluator = new ArmEvaluator(azureReads('AzureCloud', FAILOVER_SAMPLE), { functions: templateFunctions(template) });
    const secrets = new Map(
      failoverResources()
        .filter((r) => r.type === 'Microsoft.KeyVault/vaults/secrets')
        .map((r) => [(evaluator.value(r.name) as string).split('/')[1], String(r.properties?.value)]),
    );
    expect([...secrets.keys()].sort()).toEqual(['shared-key', 'shared-key-failover', 'speech-key', 'speech-key-failover']);
    expect(secrets.get('speech-key-failover')).toMatch(/^\[listKeys\('\/subscriptions\/[^']+\/accounts\/cog-speech-[a-z0-9]+-2', '[\d-]+'\)\.key1\]$/);
    expect(secrets.get('shared-key-failover')).toMatch(/^\[listKeys\('\/subscriptions\/11111111-2222-3333-4444-555555555555\/resourceGroups\/shared-ai\/providers\/Microsoft\.CognitiveServices\/accounts\/shared-neu', '[\d-]+'\)\.key1\]$/);
  });

  it("gives the function's identity the same roles on the paired accounts: the rotator on each account, Secrets Officer on each secret", () => {
    const roleAssignments = failoverResources()
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
      .map((r) => ({
        scope: /^\[extensionResourceId\('([^']+)'/.exec((r as { id?: string }).id ?? '')?.[1] ?? '',
        role: (typeof r.properties?.roleDefinitionId === 'string' ? r.properties.roleDefinitionId : '').split('/').at(-1) ?? '',
      }));
    const rotator = failoverResources().find((r) => r.type === 'Microsoft.Authorization/roleDefinitions');
    const onAccounts = roleAssignments.filter((a) => a.role === rotator?.name).map((a) => a.scope.split('/').at(-1));
    // Both items' own accounts are created here, so rotated; the existing pair opted in with rotate.
    expect(onAccounts.map((name) => name?.replace(/-[a-z0-9]{13}(-2)?$/, '$1')).sort()).toEqual(['cog-shared', 'cog-speech', 'cog-speech-2', 'shared-neu']);
    const officer = roleAssignments.filter((a) => a.role === KEY_VAULT_SECRETS_OFFICER).map((a) => a.scope.split('/').at(-1));
    expect(officer.sort()).toEqual(['shared-key', 'shared-key-failover', 'speech-key', 'speech-key-failover']);
    expect(rotator?.properties?.assignableScopes).toEqual([`/subscriptions/${SUBSCRIPTION_ID}`, '/subscriptions/11111111-2222-3333-4444-555555555555']);
  });

  it('refuses a pair in the item\'s own region, a malformed existingResourceId, and privateEndpoint without customSubdomain', () => {
    const item = (failover: Record<string, unknown>) =>
      ({ name: 'speech', kind: 'speech', region: 'westeurope', allowedRoles: ['Speech.Token'], allowedScopes: [], failover }) as unknown as Value;
    expect(() => mainVariable('resources', { aiResources: [item({ region: 'West Europe' })] })).toThrow(/failover.region is westeurope, the item's own/);
    expect(() => mainVariable('resources', { aiResources: [item({ region: 'northeurope', existingResourceId: '/subscriptions/x' })] })).toThrow(/failover.existingResourceId must be an account ID/);
    expect(() => mainVariable('resources', { aiResources: [item({ region: 'northeurope', privateEndpoint: true })] })).toThrow(/failover.privateEndpoint needs failover.customSubdomain/);
  });
});
