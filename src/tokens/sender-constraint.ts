// RFC 9449 policy: which tokens must be DPoP-bound. An API registered with
// `dpop_bound_access_tokens` gets no bearer token from any grant (the API refuses bearer tokens
// too: src/verify); a client registered with it gets no token without a proof (the library's
// own `dpop_bound_access_tokens` client metadata, RFC 9449 §5.2). Asked by every path that issues
// a token for an API: the library's resource hook (oidc/config/resource-indicators.ts), the
// client-credentials fast path and the token-exchange decision.
import type { ResourceRecord } from '../stores/resources.js';

/** Why a token for this client may not be issued unbound (RFC 9449 §5.2); undefined when it may. */
export function clientConstraintRefusal(client: { dpopBoundAccessTokens?: boolean | undefined }, bound: boolean): string | undefined {
  if (bound || !client.dpopBoundAccessTokens) return undefined;
  return 'this client is registered for DPoP-bound access tokens only: send a DPoP proof (RFC 9449 §5.2)';
}

/** Why a token for `api` may not be issued unbound; undefined when it may. */
export function senderConstraintRefusal(api: Pick<ResourceRecord, 'identifier' | 'dpopBoundAccessTokens'>, bound: boolean): string | undefined {
  if (bound || !api.dpopBoundAccessTokens) return undefined;
  return `${api.identifier} accepts only DPoP-bound access tokens: send a DPoP proof (RFC 9449)`;
}
