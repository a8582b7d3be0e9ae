// Scopes defined by OpenID Connect itself; every other scope belongs to an API (resource).
export const oidcScopes: ReadonlySet<string> = new Set(['openid', 'profile', 'email', 'offline_access']);

export function splitScope(scope: unknown): string[] {
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}

/** The API scopes (not OpenID Connect ones) in a request's `scope` parameter. */
export function apiScopesOf(scope: unknown): string[] {
  return splitScope(scope).filter((value) => !oidcScopes.has(value));
}

/** One scope-token (RFC 6749 §3.3: NQCHAR, 1*( %x21 / %x23-5B / %x5D-7E )). */
export const scopeTokenSource = '[\\x21\\x23-\\x5B\\x5D-\\x7E]';
