import { authorize, visibleResources } from './access/authorization.js';
import type { Caller } from './auth/callerAuthentication.js';
import { resolveClientEndpoints, resolveEndpointHeaders } from './clouds/endpoints.js';
import type { Parts } from './composition.js';
import type { ResourceSummary, TokenResource, VendedToken } from './model.js';
import type { RequestCorrelation } from './telemetry/telemetry.js';

/** The whole flow of a token request, one step per part: authenticate, authorize, cache, exchange. */
export class VendingService {
  readonly #parts: Parts;

  constructor(parts: Parts) {
    this.#parts = parts;
  }

  /** Throws `missing_token`, `invalid_token` or `identity_provider_unavailable`. */
  authenticate(authorization: string | null, correlation?: RequestCorrelation): Promise<Caller> {
    return this.#parts.authenticator.authenticate(authorization, correlation);
  }

  /**
   * A token for the named resource, if this caller may have it. Throws `rate_limited`,
   * `resource_not_found`, `forbidden`, or the refresh's own error when no valid token is cached.
   */
  async token(caller: Caller, resourceName: string, correlation?: RequestCorrelation): Promise<VendedToken> {
    const { limiter, config, cache, now } = this.#parts;
    limiter.take(caller.id);
    const resource = authorize(caller, config.resources, resourceName);
    const cached = await cache.get(resource, correlation);
    const { name, ...summary } = summarize(resource);
    const expiresInSeconds = Math.max(0, Math.floor((cached.expiresAt - now()) / 1000));
    this.#parts.telemetry.lowest('token_remaining_lifetime_seconds', expiresInSeconds, { resource: resource.name });
    return {
      accessToken: cached.token,
      tokenType: 'Bearer',
      expiresOn: new Date(cached.expiresAt).toISOString(),
      expiresInSeconds,
      resource: name,
      ...summary,
    };
  }

  /** The resources this caller may request. */
  resources(caller: Caller): ResourceSummary[] {
    return visibleResources(caller, this.#parts.config.resources).map(summarize);
  }
}

function summarize(resource: TokenResource): ResourceSummary {
  return {
    name: resource.name,
    kind: resource.kind,
    cloud: resource.cloud,
    // A custom-subdomain resource is reached through its subdomain: no region to build hosts from.
    region: resource.endpoint === null ? resource.region : null,
    endpoints: resolveClientEndpoints(resource),
    headers: resolveEndpointHeaders(resource),
  };
}
