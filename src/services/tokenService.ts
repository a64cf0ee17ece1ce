import { authorize, requestedResourceName, visibleResources } from '../access/authorization.js';
import { authorizeClientApp } from '../access/clientApps.js';
import { ResourceRateLimits } from '../access/rateLimiter.js';
import type { Caller } from '../auth/callerAuthentication.js';
import type { ResourceSummary, VendedToken } from '../contract/answers.js';
import type { Parts } from '../composition.js';
import { canonicalResourceName, type MintedCredential, type TokenResource } from '../model.js';
import { UNKNOWN_RESOURCE } from '../telemetry/names.js';
import type { RequestCorrelation } from '../telemetry/telemetry.js';

/** What the token and resources routes need: the whole flow of a token request, one step per part. */
export interface TokenService {
  /**
   * The `{resource}` of a request, checked against the name rule before anything else touches it:
   * its canonical form, or 404 `resource_not_found` that neither echoes nor logs what was sent.
   */
  resourceName(raw: string): string;
  /** Verifies the caller's Entra token. Throws `missing_token`, `invalid_token` or `identity_provider_unavailable`. */
  authenticate(authorization: string | null, correlation: RequestCorrelation): Promise<Caller>;
  /**
   * A credential for the named resource, if this caller (and its client application) may have it.
   * Throws `forbidden`, `rate_limited`, `resource_not_found`, or the minting's own error when no
   * valid credential is cached.
   */
  vend(caller: Caller, resourceName: string, correlation: RequestCorrelation): Promise<VendedToken>;
  /** The resources this caller may request; `forbidden` for a client application not in AUTH_ALLOWED_CLIENT_APPS. */
  resources(caller: Caller): ResourceSummary[];
  /** Counts a token request by configured resource (`(unknown)` for any other name) and outcome. */
  countRequest(resourceName: string | undefined, outcome: string): void;
}

/** The token service over an instance's steps: authenticate, limit, authorize, then the kind mints (or the cache serves). */
export function createTokenService(parts: Parts): TokenService {
  const { authenticator, limiter, config, cache, failover, kinds, now, telemetry } = parts;
  const resourceLimits = new ResourceRateLimits(config.resources, now);

  // What callers are told about a resource depends on its configuration alone: made once. A
  // failover member is told under its resource's name (`as`).
  const summaries = new Map<TokenResource, ResourceSummary>();
  const summarize = (resource: TokenResource, as = resource.name): ResourceSummary => {
    let summary = summaries.get(resource);
    if (summary === undefined) {
      summary = {
        name: as,
        kind: resource.kind,
        cloud: resource.cloud,
        ...kinds.of(resource).clientView(resource),
      };
      summaries.set(resource, summary);
    }
    return summary;
  };

  // The last answer made with each credential (a credential belongs to one resource).
  const answers = new WeakMap<MintedCredential, VendedToken>();

  // With fallbacks, the member that minted the credential is the one whose region and endpoints
  // the answer carries, so the token always works where it is sent.
  const credentialFor = async (
    resource: TokenResource,
    correlation: RequestCorrelation,
  ): Promise<{ readonly credential: MintedCredential; readonly member: TokenResource }> => {
    if (failover.covers(resource)) return failover.serve(resource, correlation);
    const credential = kinds.of(resource).sharedBetweenCallers
      ? await cache.get(resource, correlation)
      : await parts.bound(resource).mint(resource, correlation);
    return { credential, member: resource };
  };

  return {
    resourceName: requestedResourceName,
    authenticate: (authorization, correlation) => authenticator.authenticate(authorization, correlation),
    async vend(caller, resourceName, correlation) {
      authorizeClientApp(caller, config.auth.allowedClientApps);
      limiter.take(caller.id);
      const resource = authorize(caller, config.resources, resourceName);
      resourceLimits.take(caller.id, resource);
      const { credential, member } = await credentialFor(resource, correlation);
      const expiresInSeconds = Math.max(0, Math.floor((credential.expiresAt - now()) / 1000));
      telemetry.lowest('token_remaining_lifetime_seconds', expiresInSeconds, { resource: resource.name });
      // Every caller of a shared credential gets the same answer within a second: made (and so
      // serialized, see handleJson) once.
      const previous = answers.get(credential);
      if (previous?.expiresInSeconds === expiresInSeconds) return previous;
      const { name, ...summary } = summarize(member, resource.name);
      const answer: VendedToken = {
        accessToken: credential.token,
        tokenType: 'Bearer',
        expiresOn: new Date(credential.expiresAt).toISOString(),
        expiresInSeconds,
        resource: name,
        ...summary,
        ...credential.answer,
      };
      answers.set(credential, answer);
      return answer;
    },
    resources(caller) {
      authorizeClientApp(caller, config.auth.allowedClientApps);
      return visibleResources(caller, config.resources).map((resource) => summarize(resource));
    },
    countRequest(requested, outcome) {
      if (!telemetry.exporting) return;
      const resource = config.resources.find((r) => canonicalResourceName(r.name) === requested);
      telemetry.count('token_requests', { resource: resource?.name ?? UNKNOWN_RESOURCE, outcome });
    },
  };
}
