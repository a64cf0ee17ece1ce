import { authorizeClientApp } from '../access/clientApps.js';
import { authorizeOperator } from '../access/operatorAccess.js';
import type { Caller } from '../auth/callerAuthentication.js';
import type { ResourceTokenState } from '../cache/tokenCache.js';
import type { Parts } from '../composition.js';
import type { ResourceStatus, ServiceStatus } from '../contract/answers.js';
import type { FailoverView } from '../failover/failover.js';
import type { KeyInUse, TokenResource } from '../model.js';
import { nextRotationAt } from '../rotation/rotationState.js';
import type { RequestCorrelation } from '../telemetry/telemetry.js';

/** What the status route needs: who the caller is, and for an operator what this instance knows. */
export interface StatusService {
  /** Verifies the caller's Entra token. Throws `missing_token`, `invalid_token` or `identity_provider_unavailable`. */
  authenticate(authorization: string | null, correlation: RequestCorrelation): Promise<Caller>;
  /**
   * This instance's view of each resource; throws `forbidden` unless the caller holds one of
   * `OPERATOR_ROLES` and signed in with an application AUTH_ALLOWED_CLIENT_APPS allows.
   */
  status(caller: Caller): ServiceStatus;
}

export function createStatusService(parts: Parts): StatusService {
  return {
    authenticate: (authorization, correlation) => parts.authenticator.authenticate(authorization, correlation),
    status(caller) {
      authorizeClientApp(caller, parts.config.auth.allowedClientApps);
      authorizeOperator(caller, parts.config.operations.operatorRoles);
      return serviceStatus(parts);
    },
  };
}

/**
 * What this instance knows about each resource, for `GET /api/status`: the token cache's state per
 * resource, and the instance itself. Built from cache state only: reading it calls no upstream.
 */
function serviceStatus({
  bound,
  cache,
  config,
  failover,
  instance,
  now,
}: Pick<Parts, 'bound' | 'cache' | 'config' | 'failover' | 'instance' | 'now'>): ServiceStatus {
  const at = now();
  return {
    instance: { id: instance.id, startedAt: iso(instance.startedAt), version: instance.version },
    time: iso(at),
    resources: config.resources.map((resource) => {
      // A kind that mints per request caches nothing: its state is how its latest mints went.
      const minted = bound(resource).state?.(resource);
      const state: ResourceTokenState =
        minted === undefined
          ? cache.state(resource)
          : {
              expiresAt: undefined,
              servable: false,
              lastRefreshAt: minted.lastMintAt,
              lastError: minted.lastError,
              failing: minted.failing,
              key: undefined,
            };
      const rotation = nextRotationOf(resource, state.key, config.rotation.periodDays);
      const group = failover.view(resource);
      return {
        name: resource.name,
        state: group === undefined ? stateOf(state) : groupStateOf(group, state),
        expiresOn: state.expiresAt === undefined ? null : iso(state.expiresAt),
        lastRefreshAt: state.lastRefreshAt === undefined ? null : iso(state.lastRefreshAt),
        lastError: state.lastError === undefined ? null : { code: state.lastError.code, at: iso(state.lastError.at) },
        key:
          state.key === undefined
            ? null
            : {
                keyName: state.key.keyName,
                createdOn: state.key.createdOn === undefined ? null : iso(state.key.createdOn),
                ageSeconds:
                  state.key.createdOn === undefined ? null : Math.max(0, Math.floor((at - state.key.createdOn) / 1000)),
              },
        nextRotationAt: rotation === null ? null : iso(rotation),
        ...(group === undefined ? {} : { failover: failoverStatus(group, cache) }),
      };
    }),
  };
}

/** Who serves and each member's health, with each member's cached token's expiry (never the token). */
function failoverStatus(group: FailoverView, cache: Parts['cache']): NonNullable<ResourceStatus['failover']> {
  const optionalIso = (ms: number | undefined) => (ms === undefined ? null : iso(ms));
  return {
    serving: group.serving?.name ?? null,
    members: group.members.map(({ member, state, failingSince, nextProbeAt, lastError }) => ({
      member: member.name,
      cloud: member.cloud,
      region: member.region,
      state,
      failingSince: optionalIso(failingSince),
      nextProbeAt: optionalIso(nextProbeAt),
      lastError: lastError === undefined ? null : { code: lastError.code, at: iso(lastError.at) },
      expiresOn: optionalIso(cache.state(member).expiresAt),
    })),
  };
}

/**
 * With fallbacks: `ok` while the resource itself serves (as `stateOf` says), `degraded` while a
 * fallback does, `failing` while none can.
 */
function groupStateOf(group: FailoverView, primary: ResourceTokenState): ResourceStatus['state'] {
  if (group.serving === undefined) return 'failing';
  if (group.serving !== group.members[0]?.member) return 'degraded';
  return stateOf(primary);
}

/**
 * `degraded`: the latest refresh failed but callers still get the cached token; `failing`: it
 * failed and nothing valid is left. A resource whose token merely expired unrequested is `ok`:
 * the next request (or self-check) refreshes it.
 */
function stateOf(state: ResourceTokenState): ResourceStatus['state'] {
  if (!state.failing) return 'ok';
  return state.servable ? 'degraded' : 'failing';
}

/**
 * When the scheduled rotation is due for the key behind the cached token (epoch ms): only for a
 * resource with a `resourceId` while KEY_ROTATION_DAYS is set, and only once a token was exchanged.
 */
function nextRotationOf(resource: TokenResource, key: KeyInUse | undefined, periodDays: number): number | null {
  if (resource.resourceId === null || key === undefined) return null;
  return nextRotationAt({ keyName: null, since: key.since }, periodDays);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
