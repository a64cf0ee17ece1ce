import type { TokenCredential } from '@azure/core-auth';
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
  type PipelineOptions,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { z } from 'zod';
import { describeError } from '../errors/serviceError.js';
import { parseRetryAfter, retryAfterOf, retryAfterSeconds } from '../http/retryAfter.js';
import { deferLongRetryAfter } from '../http/retryAfterPolicy.js';
import { redactSecrets } from '../log/redact.js';
import { CLOUDS, resourceManagerScope } from '../clouds/clouds.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { withTimeout } from '../timeout.js';
import type { CloudName, KeyName, TokenResource } from '../model.js';
import { isCredentialError } from './credentialError.js';
import {
  ACCOUNT_ROLE_FIX,
  accountNotFound,
  armRefused,
  armUnavailable,
  credentialUnavailable,
  permissionMissing,
  resourceIdMissing,
  type RotationError,
} from './rotationError.js';

/**
 * The Cognitive Services management API version. `listKeys` and `regenerateKey` have had this shape
 * since 2017; 2024-10-01 is served in every cloud (sovereign clouds lag on the newest versions).
 */
const API_VERSION = '2024-10-01';
/** The Authorization API version of Permissions - List For Resource. */
const PERMISSIONS_API_VERSION = '2022-04-01';
/** The longest `Retry-After` the pipeline waits out between its retries, in ms; a longer one is reported. */
const MAX_RETRY_AFTER_WAIT_MS = 4000;
/** Where the pipeline keeps a `Retry-After` too long to wait for. */
const DEFERRED_RETRY_AFTER = 'x-deferred-retry-after';

/** An account's two keys, as `listKeys` and `regenerateKey` answer them. Never log them. */
export interface AccountKeys {
  readonly key1: string;
  readonly key2: string;
}

/** What the caller may do on the account, from its effective permissions. */
export interface AccountPermissions {
  readonly listKeys: boolean;
  readonly regenerateKey: boolean;
}

const apiKeysSchema = z.object({ key1: z.string().min(1), key2: z.string().min(1) });
const armErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string().default('') }) });
const permissionsSchema = z.object({
  value: z.array(z.object({ actions: z.array(z.string()).default([]), notActions: z.array(z.string()).default([]) })),
});

const ACTIONS = {
  listKeys: 'Microsoft.CognitiveServices/accounts/listKeys/action',
  regenerateKey: 'Microsoft.CognitiveServices/accounts/regenerateKey/action',
} as const;

export interface AccountKeysClientOptions {
  /** The app's identity; its token's audience is the resource's cloud's ARM. */
  readonly credential: TokenCredential;
  /** ARM origin for every resource (`ARM_ENDPOINT`); `null`: each resource's cloud. */
  readonly armEndpoint: string | null;
  /** Passed to the HTTP pipeline: `tlsOptions.ca` for a loopback ARM, `retryOptions`. */
  readonly pipelineOptions?: PipelineOptions;
  /** Budget for one call, retries included, in ms. Default 30000. */
  readonly timeoutMs?: number;
  /** Times each call (retries included) as the `arm` upstream. */
  readonly telemetry?: Pick<Telemetry, 'upstreamCall'>;
}

/**
 * The two ARM calls of a rotation, and the permission check of the doctor, as plain REST over the
 * Azure SDK's HTTP pipeline (its TLS, retry and bearer-token policies) with the app's credential:
 * `POST {account}/listKeys`, `POST {account}/regenerateKey` (Cognitive Services management REST
 * reference) and `GET {account}/providers/Microsoft.Authorization/permissions` (Authorization REST
 * reference). Every failure is thrown as a RotationError with its code.
 */
export class AccountKeysClient {
  readonly #options: AccountKeysClientOptions;
  readonly #timeoutMs: number;
  readonly #client: HttpClient = createDefaultHttpClient();
  /** One pipeline per token audience: its bearer policy caches the token for that audience. */
  readonly #pipelines = new Map<CloudName, Pipeline>();

  constructor(options: AccountKeysClientOptions) {
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Both keys of the resource's account. */
  listKeys(resource: TokenResource): Promise<AccountKeys> {
    return this.#keys(resource, 'listKeys', undefined);
  }

  /** Regenerates one key; resolves to both keys as they are afterwards. */
  regenerateKey(resource: TokenResource, keyName: KeyName): Promise<AccountKeys> {
    return this.#keys(resource, 'regenerateKey', keyName);
  }

  /**
   * Whether the caller may list and regenerate the account's keys, from its effective permissions
   * on the account (every principal may read its own): no key is listed or changed.
   */
  async permissions(resource: TokenResource): Promise<AccountPermissions> {
    const operation = 'reading permissions';
    const response = await this.#send(resource, operation, 'GET', '/providers/Microsoft.Authorization/permissions', {
      apiVersion: PERMISSIONS_API_VERSION,
    });
    const parsed = permissionsSchema.safeParse(parseJson(response.bodyAsText));
    if (!parsed.success) throw armUnavailable(operation, accountOf(resource), 'the answer is not a permission list');
    const allows = (action: string) =>
      parsed.data.value.some(
        (entry) =>
          entry.actions.some((pattern) => matchesAction(pattern, action)) &&
          !entry.notActions.some((pattern) => matchesAction(pattern, action)),
      );
    return { listKeys: allows(ACTIONS.listKeys), regenerateKey: allows(ACTIONS.regenerateKey) };
  }

  async #keys(
    resource: TokenResource,
    operation: 'listKeys' | 'regenerateKey',
    keyName: KeyName | undefined,
  ): Promise<AccountKeys> {
    const response = await this.#send(resource, operation, 'POST', `/${operation}`, {
      apiVersion: API_VERSION,
      // The service takes `Key1`/`Key2` only, case-sensitively.
      ...(keyName === undefined ? {} : { body: JSON.stringify({ keyName: keyName === 'key1' ? 'Key1' : 'Key2' }) }),
    });
    const parsed = apiKeysSchema.safeParse(parseJson(response.bodyAsText));
    if (!parsed.success) throw armUnavailable(operation, accountOf(resource), 'the answer does not hold both keys');
    return parsed.data;
  }

  async #send(
    resource: TokenResource,
    operation: string,
    method: 'GET' | 'POST',
    suffix: string,
    request: { apiVersion: string; body?: string },
  ): Promise<PipelineResponse> {
    const accountId = accountOf(resource);
    const origin = this.#options.armEndpoint ?? CLOUDS[resource.cloud].resourceManager;
    const call = this.#options.telemetry?.upstreamCall('arm', {
      method,
      host: new URL(origin).host,
      resource: resource.name,
    });
    let response: PipelineResponse;
    try {
      response = await withTimeout(this.#timeoutMs, (abortSignal) =>
        this.#pipeline(resource.cloud).sendRequest(
          this.#client,
          createPipelineRequest({
            url: `${origin}${accountId}${suffix}?api-version=${request.apiVersion}`,
            method,
            abortSignal,
            headers: createHttpHeaders(request.body === undefined ? {} : { 'Content-Type': 'application/json' }),
            ...(request.body === undefined ? {} : { body: request.body }),
          }),
        ),
      );
    } catch (error) {
      if (isCredentialError(error)) {
        const failure = credentialUnavailable(
          `Azure Resource Manager (${resourceManagerScope(resource.cloud)})`,
          error,
        );
        call?.end({ failure: 'credential', code: failure.code });
        throw failure;
      }
      const timedOut = error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
      call?.end({ failure: timedOut ? 'timeout' : 'network', code: 'rotation_arm_unavailable' });
      throw armUnavailable(
        operation,
        accountId,
        timedOut ? `no answer within ${this.#timeoutMs} ms` : `network failure: ${describeError(error)}`,
        error,
      );
    }
    if (response.status >= 200 && response.status < 300) {
      call?.end({ status: response.status });
      return response;
    }
    const failure = classifyArmAnswer(operation, accountId, response);
    call?.end({ status: response.status, code: failure.code });
    throw failure;
  }

  #pipeline(cloud: CloudName): Pipeline {
    let pipeline = this.#pipelines.get(cloud);
    if (pipeline === undefined) {
      pipeline = createPipelineFromOptions({
        retryOptions: { maxRetries: 2, retryDelayInMs: 500, maxRetryDelayInMs: 4000 },
        ...this.#options.pipelineOptions,
      });
      pipeline.addPolicy(
        bearerTokenAuthenticationPolicy({ credential: this.#options.credential, scopes: resourceManagerScope(cloud) }),
      );
      // A long Retry-After fails the call at once, with the wait, rather than holding it to the timeout.
      pipeline.addPolicy(deferLongRetryAfter(MAX_RETRY_AFTER_WAIT_MS, DEFERRED_RETRY_AFTER), { afterPhase: 'Retry' });
      this.#pipelines.set(cloud, pipeline);
    }
    return pipeline;
  }
}

function accountOf(resource: TokenResource): string {
  if (resource.resourceId === null) throw resourceIdMissing(resource.name);
  return resource.resourceId;
}

/**
 * ARM's answer by status, with its error envelope's code (Azure Resource Manager error reference),
 * both redacted of anything shaped like a key before they reach a diagnosis.
 */
function classifyArmAnswer(operation: string, accountId: string, response: PipelineResponse): RotationError {
  const parsed = armErrorSchema.safeParse(parseJson(response.bodyAsText));
  const armCode = redactSecrets(parsed.success ? parsed.data.error.code : `HTTP ${response.status}`);
  const message = parsed.success ? redactSecrets(describeError(parsed.data.error.message)) : '';
  const { status } = response;
  if (status === 403) {
    return permissionMissing(
      operation === 'regenerateKey'
        ? "regenerate the account's keys"
        : operation === 'listKeys'
          ? "list the account's keys"
          : 'read its permissions on the account',
      `${operation} on ${accountId}: Azure Resource Manager answered 403 (${armCode}): ${message}`,
      ACCOUNT_ROLE_FIX,
    );
  }
  if (status === 401) {
    return credentialUnavailable(
      'Azure Resource Manager',
      new Error(`${operation} on ${accountId} answered 401 (${armCode}): ${message}`),
    );
  }
  if (status === 404) return accountNotFound(accountId, armCode);
  if (status === 429 || status >= 500) {
    const asked =
      retryAfterOf(response.headers, Date.now()) ?? parseRetryAfter(response.headers.get(DEFERRED_RETRY_AFTER), 0);
    const wait =
      asked === undefined
        ? ''
        : `; it asked to wait, so try again in ${retryAfterSeconds(asked)} s (its Retry-After, at most a minute is honoured)`;
    return armUnavailable(
      operation,
      accountId,
      `Azure Resource Manager answered ${status} (${armCode}) after retries${wait}`,
    );
  }
  return armRefused(operation, accountId, status, armCode, message);
}

/**
 * Whether an action pattern from a role (`*`, `Microsoft.CognitiveServices/*`,
 * `Microsoft.CognitiveServices/accounts/listKeys/action`) covers the action; case-insensitive, as
 * Azure RBAC compares them.
 */
function matchesAction(pattern: string, action: string): boolean {
  const expression = pattern
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${expression}$`).test(action.toLowerCase());
}

function parseJson(text: string | null | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}
