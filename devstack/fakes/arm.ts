import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { FakeCognitive, FakeKey } from './cognitive.js';
import {
  acceptedConnections,
  closeServer,
  createGate,
  listenOnLoopback,
  readBody,
  type Gate,
  type HeldRequest,
} from './server.js';
import { createSelfSignedCertificate } from './tls.js';

/** The account operations the fake serves, as ARM names their actions. */
export type ArmOperation = 'listKeys' | 'regenerateKey' | 'permissions';

/** An account's two keys, as `listKeys` answers them. */
export interface AccountKeys {
  readonly key1: string;
  readonly key2: string;
}

/** Where an account's keys are accepted: its region or custom subdomain, as the STS fake routes them. */
export type AccountSite = Omit<FakeKey, 'key'>;

/**
 * A scripted ARM failure; `afterRegenerate` applies a regeneration, then answers the failure.
 * `headers` are sent with it word for word (e.g. `Retry-After`).
 */
export type ArmFailure = (
  | { readonly status: 429 | 500 | 502 | 503; readonly afterRegenerate?: boolean }
  | { readonly status: number; readonly code: string; readonly message: string; readonly afterRegenerate?: boolean }
) & { readonly headers?: Readonly<Record<string, string>> };

export interface FakeArmCall {
  readonly operation: ArmOperation | 'unknown';
  /** The account's ARM ID as the client sent it. */
  readonly account: string;
  /** `Key1` / `Key2` for a regeneration. */
  readonly keyName?: string;
  readonly status: number;
  readonly apiVersion: string | null;
}

export interface FakeArmOptions {
  /**
   * The STS fake the accounts' keys are registered with: a regenerated key stops working there at
   * once, and the new one works, as on a real account.
   */
  readonly cognitive?: FakeCognitive;
  /**
   * Whether a bearer token is one ARM accepts, e.g. one the managed-identity fake issued for
   * `https://management.azure.com`; others get 401 InvalidAuthenticationTokenAudience. Default: any.
   */
  readonly acceptToken?: (token: string) => boolean;
  /** Delay before every answer, in ms. Default 0. */
  readonly latencyMs?: number;
}

export interface FakeArm {
  /** `https://127.0.0.1:PORT`: give it as ARM_ENDPOINT. */
  readonly url: string;
  /** The self-signed certificate (the same one the vault fake uses): `tlsOptions: { ca }` or NODE_EXTRA_CA_CERTS. */
  readonly certificatePem: string;
  readonly calls: FakeArmCall[];
  /** Adds an account; its keys are made up unless given. Both are registered with the STS fake. */
  addAccount(id: string, site: AccountSite, keys?: Partial<AccountKeys>): AccountKeys;
  /** The account's keys now. */
  keys(id: string): AccountKeys;
  /** Every key any account has ever had, for scans that no key leaked. */
  everyKey(): readonly string[];
  /** Refuses an action on an account (`*`: on every account) with 403 AuthorizationFailed, as a missing role does. */
  deny(id: string, operation: 'listKeys' | 'regenerateKey'): void;
  /** Grants every action again. */
  allowAll(): void;
  /** The next `count` calls of `operation` (default: any) answer `failure`. */
  failNext(count: number, failure: ArmFailure, operation?: ArmOperation): void;
  /**
   * Parks the next call of `operation` until `release()`: before it takes effect, or with
   * `afterEffect` once it has (a regenerated key is then in force, the caller not yet told).
   */
  holdNext(operation: ArmOperation, options?: { afterEffect?: boolean }): HeldRequest;
  /**
   * The next regenerateKey answers `answer(before, after)` instead of the account's keys, as a
   * crafted or replayed answer would; with `regenerate: false` nothing is regenerated either.
   */
  tamperNextRegenerate(
    answer: (before: AccountKeys, after: AccountKeys) => AccountKeys,
    options?: { regenerate?: boolean },
  ): void;
  resetCalls(): void;
  connections(): number;
  close(): Promise<void>;
}

const ACCOUNT_PATH =
  /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.CognitiveServices\/accounts\/[^/]+)\/(listKeys|regenerateKey|providers\/Microsoft\.Authorization\/permissions)$/i;
const ACTIONS = {
  listKeys: 'Microsoft.CognitiveServices/accounts/listKeys/action',
  regenerateKey: 'Microsoft.CognitiveServices/accounts/regenerateKey/action',
} as const;
interface Account {
  readonly id: string;
  readonly site: AccountSite;
  keys: AccountKeys;
}

/** A key in the classic format: 32 hex characters. */
function newKey(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Azure Resource Manager over TLS, as far as key rotation needs it: `POST {account}/listKeys`,
 * `POST {account}/regenerateKey` (`{"keyName": "Key1" | "Key2"}`, case-sensitive as the service is)
 * and `GET {account}/providers/Microsoft.Authorization/permissions` (the caller's effective actions),
 * with ARM's error envelope (`AuthorizationFailed`, `ResourceNotFound`, `MissingApiVersionParameter`,
 * `InvalidAuthenticationTokenAudience`). Source: Cognitive Services management REST reference
 * (Accounts - List Keys, Accounts - Regenerate Key) and Authorization REST reference (Permissions -
 * List For Resource). TLS because no Azure client sends a bearer token over plain http.
 */
export async function startFakeArm(options: FakeArmOptions = {}): Promise<FakeArm> {
  const { cert, key } = createSelfSignedCertificate();
  const accounts = new Map<string, Account>();
  const denied = new Set<string>();
  const everyKey = new Set<string>();
  const calls: FakeArmCall[] = [];
  let failures: { count: number; failure: ArmFailure; operation: ArmOperation | undefined } = {
    count: 0,
    failure: { status: 500 },
    operation: undefined,
  };
  const held: { operation: ArmOperation; afterEffect: boolean; gate: Gate }[] = [];
  let tamper: { answer: (before: AccountKeys, after: AccountKeys) => AccountKeys; regenerate: boolean } | undefined;
  const park = async (operation: ArmOperation, afterEffect: boolean) => {
    const index = held.findIndex((h) => h.operation === operation && h.afterEffect === afterEffect);
    const [parked] = index === -1 ? [] : held.splice(index, 1);
    if (parked === undefined) return;
    parked.gate.arrive();
    await parked.gate.released;
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}) => {
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-cache',
      'x-ms-request-id': randomUUID(),
      'x-ms-correlation-request-id': randomUUID(),
      ...headers,
    });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, { error: { code, message } });

  const isDenied = (account: Account, operation: 'listKeys' | 'regenerateKey') =>
    denied.has(`*/${operation}`) || denied.has(`${account.id.toLowerCase()}/${operation}`);

  /** Replaces one key of the account, at the STS too: the old one is refused from this moment. */
  const regenerate = (account: Account, slot: keyof AccountKeys) => {
    const previous = account.keys[slot];
    const next = newKey();
    everyKey.add(next);
    account.keys = { ...account.keys, [slot]: next };
    const sts = options.cognitive;
    if (sts !== undefined)
      sts.setKeys([...sts.keys().filter((k) => k.key !== previous), { ...account.site, key: next }]);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req, 16 * 1024);
    const url = new URL(req.url ?? '/', 'https://management');
    const apiVersion = url.searchParams.get('api-version');
    const match = ACCOUNT_PATH.exec(url.pathname);
    const accountId = match?.[1] ?? url.pathname;
    const operationPath = match?.[2]?.toLowerCase();
    const operation: ArmOperation | 'unknown' =
      operationPath === 'listkeys' && req.method === 'POST'
        ? 'listKeys'
        : operationPath === 'regeneratekey' && req.method === 'POST'
          ? 'regenerateKey'
          : operationPath?.endsWith('permissions') && req.method === 'GET'
            ? 'permissions'
            : 'unknown';
    let keyName: string | undefined;
    const answer = (status: number, payload: unknown, headers?: Readonly<Record<string, string>>) => {
      calls.push({ operation, account: accountId, status, apiVersion, ...(keyName === undefined ? {} : { keyName }) });
      send(res, status, payload, headers);
    };
    const fail = (status: number, code: string, message: string, headers?: Readonly<Record<string, string>>) =>
      answer(status, { error: { code, message } }, headers);
    const failScripted = (scripted: ArmFailure, defaultMessage: string) =>
      fail(
        scripted.status,
        'code' in scripted ? scripted.code : scripted.status === 429 ? 'TooManyRequests' : 'InternalServerError',
        'message' in scripted ? scripted.message : defaultMessage,
        scripted.headers,
      );

    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined) {
      fail(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
      return;
    }
    if (options.acceptToken !== undefined && !options.acceptToken(token)) {
      fail(
        401,
        'InvalidAuthenticationTokenAudience',
        "The access token has been obtained for wrong audience or resource. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.azure.com/'.",
      );
      return;
    }
    if (!apiVersion) {
      fail(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
      return;
    }
    if (operation === 'unknown') {
      fail(404, 'NotFound', `The fake ARM serves no ${req.method} ${url.pathname}.`);
      return;
    }
    const account = accounts.get(accountId.toLowerCase());
    if (account === undefined) {
      const [, , , , group = '', , , , name = ''] = accountId.split('/');
      fail(
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.CognitiveServices/accounts/${name}' under resource group '${group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      );
      return;
    }
    if (operation === 'permissions') {
      const actions = (['listKeys', 'regenerateKey'] as const).filter((op) => !isDenied(account, op));
      answer(200, {
        value: [{ actions: actions.map((op) => ACTIONS[op]), notActions: [], dataActions: [], notDataActions: [] }],
      });
      return;
    }
    await park(operation, false);
    if (operation === 'regenerateKey') {
      try {
        const parsed = JSON.parse(body) as { keyName?: unknown };
        keyName = typeof parsed.keyName === 'string' ? parsed.keyName : undefined;
      } catch {
        keyName = undefined;
      }
    }
    if (isDenied(account, operation)) {
      fail(
        403,
        'AuthorizationFailed',
        `The client '00000000-0000-4000-8000-00000000a11d' with object id '00000000-0000-4000-8000-00000000a11e' does not have authorization to perform action '${ACTIONS[operation]}' over scope '${account.id}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      );
      return;
    }
    const scripted =
      failures.count > 0 && (failures.operation === undefined || failures.operation === operation)
        ? failures.failure
        : undefined;
    if (scripted !== undefined) failures.count--;
    if (scripted !== undefined && !(scripted.afterRegenerate === true && operation === 'regenerateKey')) {
      failScripted(scripted, 'Scripted failure of the fake ARM.');
      return;
    }
    if (operation === 'regenerateKey') {
      if (keyName !== 'Key1' && keyName !== 'Key2') {
        fail(
          400,
          'BadRequest',
          `The value '${String(keyName)}' of 'keyName' is not valid. Valid values are 'Key1' and 'Key2'.`,
        );
        return;
      }
      const before = { ...account.keys };
      const tampered = tamper;
      tamper = undefined;
      if (tampered?.regenerate !== false) regenerate(account, keyName === 'Key1' ? 'key1' : 'key2');
      if (tampered !== undefined) {
        const crafted = tampered.answer(before, { ...account.keys });
        await park(operation, true);
        answer(200, crafted);
        return;
      }
    }
    const answerKeys = { ...account.keys };
    await park(operation, true);
    if (scripted !== undefined) {
      // The regeneration happened; the client only hears that something failed.
      failScripted(scripted, 'Scripted failure of the fake ARM after the key was regenerated.');
      return;
    }
    answer(200, answerKeys);
  };

  const server = createServer({ cert, key }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) error(res, 500, 'InternalServerError', 'The fake ARM failed.');
      else res.end();
    });
  });
  const port = await listenOnLoopback(server, options.latencyMs);

  return {
    url: `https://127.0.0.1:${port}`,
    certificatePem: cert,
    calls,
    addAccount(id, site, given = {}) {
      const keys = { key1: given.key1 ?? newKey(), key2: given.key2 ?? newKey() };
      everyKey.add(keys.key1);
      everyKey.add(keys.key2);
      accounts.set(id.toLowerCase(), { id, site, keys });
      const sts = options.cognitive;
      if (sts !== undefined) {
        const current = sts.keys().filter((k) => k.key !== keys.key1 && k.key !== keys.key2);
        sts.setKeys([...current, { ...site, key: keys.key1 }, { ...site, key: keys.key2 }]);
      }
      return keys;
    },
    keys(id) {
      const account = accounts.get(id.toLowerCase());
      if (account === undefined) throw new Error(`the fake ARM has no account ${id}`);
      return account.keys;
    },
    everyKey: () => [...everyKey],
    deny(id, operation) {
      denied.add(`${id === '*' ? '*' : id.toLowerCase()}/${operation}`);
    },
    allowAll() {
      denied.clear();
    },
    failNext(count, failure, operation) {
      failures = { count, failure, operation };
    },
    holdNext(operation, holdOptions = {}) {
      const gate = createGate();
      held.push({ operation, afterEffect: holdOptions.afterEffect ?? false, gate });
      return { arrived: gate.arrived, release: gate.release };
    },
    tamperNextRegenerate(answer, tamperOptions = {}) {
      tamper = { answer, regenerate: tamperOptions.regenerate ?? true };
    },
    resetCalls() {
      calls.length = 0;
    },
    connections: () => acceptedConnections(server),
    close: () => closeServer(server),
  };
}
