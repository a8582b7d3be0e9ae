// Scopes defined by OpenID Connect itself; every other scope belongs to an API (resource).
export const oidcScopes: ReadonlySet<string> = new Set(['openid', 'profile', 'email', 'offline_access']);

export function splitScope(scope: unknown): string[] {
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}
