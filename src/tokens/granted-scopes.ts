// The one rule for "which scopes of which API may this client get" (docs/DESIGN.md "Protocol
// surface" and "Token exchange"), for client credentials, codes, refreshes and token exchange,
// on the library path and the fast paths alike: a client may be granted only scopes that the
// target API defines and that are in its own `scope` metadata (tokens/resource-access.ts
// `reachableScopes`); a client holding none of an API's scopes cannot reach it at all.
import { errors } from 'oidc-provider';
import type { ResourceRecord } from '../stores/resources.js';

/** Why a request for scopes at an API is refused; each endpoint words it (scopeRefusalText). */
export type ScopeRefusal =
  | { error: 'invalid_target'; reason: 'unreachable' }
  | { error: 'invalid_scope'; reason: 'not_defined' | 'not_allowed'; scope: string };

export type GrantedScopes = { ok: true; scopes: string[] } | { ok: false; refusal: ScopeRefusal };

/**
 * The scopes to grant at `api` to a client that may have `reachable` of them: the requested
 * scopes, each once, in the order first asked; every reachable scope when none is asked for
 * (RFC 6749 §3.3 lets the server apply a default). The first requested scope that `api` does not
 * define, or that the client may not have, refuses the request (RFC 6749 §5.2 invalid_scope);
 * an API the client cannot reach refuses it whatever is asked (RFC 8707 §2 invalid_target).
 */
export function grantApiScopes(
  requested: readonly string[],
  api: Pick<ResourceRecord, 'scopes'>,
  reachable: readonly string[],
): GrantedScopes {
  if (reachable.length === 0) return { ok: false, refusal: { error: 'invalid_target', reason: 'unreachable' } };
  for (const scope of requested) {
    if (!api.scopes.includes(scope)) return { ok: false, refusal: { error: 'invalid_scope', reason: 'not_defined', scope } };
    if (!reachable.includes(scope)) return { ok: false, refusal: { error: 'invalid_scope', reason: 'not_allowed', scope } };
  }
  return { ok: true, scopes: requested.length ? [...new Set(requested)] : [...reachable] };
}

/**
 * The error_description of a refusal, in the words of the endpoint that refuses: the token
 * endpoint names the `resource` (RFC 8707), token exchange its target API (RFC 8693 §2.1).
 */
export function scopeRefusalText(refusal: ScopeRefusal, target: 'resource' | 'target API'): string {
  switch (refusal.reason) {
    case 'unreachable':
      return `the client may not request tokens for this ${target === 'resource' ? 'resource' : 'API'}`;
    case 'not_defined':
      return `requested scope is not defined by the ${target}`;
    case 'not_allowed':
      return 'requested scope is not allowed for this client';
  }
}

/** The refusal as the library's error, for the library-side hooks to throw. */
export function scopeRefusalError(refusal: ScopeRefusal, target: 'resource' | 'target API'): errors.InvalidTarget | errors.InvalidScope {
  const description = scopeRefusalText(refusal, target);
  return refusal.error === 'invalid_target' ? new errors.InvalidTarget(description) : new errors.InvalidScope(description, refusal.scope);
}
