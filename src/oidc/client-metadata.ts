// What oidc-provider sees of a client. Our clients' `scope` mixes OIDC scopes with API scopes;
// the library only knows its static scope list (OIDC's), and API scopes are enforced by our
// resource policy (config/resource-indicators.ts), so the provider gets the OIDC part only.
import type { ClientMetadata as ProviderClientMetadata } from 'oidc-provider';
import type { ClientRecord } from '../stores/clients.js';
import { oidcScopes, splitScope } from '../tokens/scopes.js';

export function toProviderClientMetadata(record: Pick<ClientRecord, 'metadata' | 'secretDigest'>): ProviderClientMetadata {
  const { scope, ...metadata } = record.metadata;
  const providerScope = splitScope(scope).filter((value) => oidcScopes.has(value));
  return {
    // ID tokens of OpenID clients always say when the user authenticated (OIDC Core §2
    // auth_time); not for plain OAuth clients, where the library would demand `openid`.
    ...(providerScope.includes('openid') ? { require_auth_time: true } : {}),
    ...metadata,
    ...(providerScope.length ? { scope: providerScope.join(' ') } : {}),
    // The digest stands in for the secret: compareClientSecret is replaced (internals.ts).
    ...(record.secretDigest ? { client_secret: record.secretDigest } : {}),
  };
}
