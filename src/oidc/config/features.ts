// Which oidc-provider features are on, and the policies behind them. Each default the
// library ships that is unsafe for production is set here explicitly (OIDC-PROVIDER-NOTES.md).
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Catalog } from '../../catalog/catalog.js';
import { adminScope } from '../admin-resource.js';
import { splitScope } from '../scopes.js';
import { resourceIndicatorsConfig, type ResourceDeps } from './resource-indicators.js';

type TokenLike = { clientId?: string | undefined; aud?: string | string[] | undefined; resourceServer?: { audience?: string } };

function tokenAudiences(token: TokenLike): string[] {
  const aud = token.resourceServer?.audience ?? token.aud;
  return aud === undefined ? [] : Array.isArray(aud) ? aud : [aud];
}

// Only the client the token was issued to, the client acting for the token's API, or an
// admin-scoped client may learn about a token; any other caller gets {"active": false}.
function createIntrospectionPolicy(catalog: Catalog) {
  return async function introspectionAllowed(_ctx: KoaContextWithOIDC, client: { clientId: string }, token: TokenLike) {
    if (token.clientId === client.clientId) return true;
    const caller = await catalog.findClient(client.clientId);
    if (splitScope(caller?.metadata.scope).includes(adminScope)) return true;
    for (const audience of tokenAudiences(token)) {
      const api = await catalog.findResource(audience);
      if (api?.clientId === client.clientId) return true;
    }
    return false;
  };
}

export function features(deps: ResourceDeps, logoutPages: { logoutSource: unknown; postLogoutSuccessSource: unknown }) {
  return {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: createIntrospectionPolicy(deps.catalog) },
    revocation: { enabled: true },
    resourceIndicators: resourceIndicatorsConfig(deps),
    rpInitiatedLogout: { enabled: true, ...logoutPages },
    userinfo: { enabled: true },
    registration: { enabled: false },
    // Pushed authorization requests stay available (RFC 9126) but are not required.
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
    dPoP: { enabled: false },
  };
}
