// The client-credentials decision (RFC 6749 §4.4): what a client may get from one API, by the
// one scope rule (granted-scopes.ts). The library path asks it from the resource-indicators hook
// (oidc/config/resource-indicators.ts) and lets the library issue; the fast path
// (oidc/fast-path/client-credentials.ts) asks it with the form's `scope` as it came and hands
// any refusal to the library, which decides the request from scratch.
import type { ResourceRecord } from '../stores/resources.js';
import { grantApiScopes, type ScopeRefusal } from './granted-scopes.js';
import { oidcScopes } from './scopes.js';

/** What an allowed request issues: a token for `api` with `scope`, living `lifetime` seconds. */
export type ClientCredentialsDecision =
  | { ok: true; api: ResourceRecord; scope: string; lifetime: number }
  | { ok: false; refusal: ScopeRefusal };

/**
 * `requested` are the scope values asked for at `api` (RFC 6749 §3.3, split on spaces), and
 * `reachable` the scopes of `api` the client may have (resource-access.ts). Every requested
 * value must be one of the API's reachable scopes. So an empty value (a doubled, leading or
 * trailing space) or one with a character outside RFC 6749 §3.3 is refused like any scope the
 * API does not define (admin/resources.ts accepts only scope-tokens): the fast path needs no
 * syntax check of its own. OpenID Connect scopes name claims, not API access: the library path
 * takes them out before it asks (oidc/config/resource-indicators.ts), and here they refuse.
 */
export function decideClientCredentials(
  api: ResourceRecord,
  reachable: readonly string[],
  requested: readonly string[],
): ClientCredentialsDecision {
  const openIdScope = requested.find((scope) => oidcScopes.has(scope));
  if (openIdScope !== undefined) return { ok: false, refusal: { error: 'invalid_scope', reason: 'not_defined', scope: openIdScope } };
  const granted = grantApiScopes(requested, api, reachable);
  if (!granted.ok) return granted;
  return { ok: true, api, scope: granted.scopes.join(' '), lifetime: api.accessTokenTtl };
}
