// Which oidc-provider features are on, and the policies behind them. Each default the
// library ships that is unsafe for production is set here explicitly (docs/OIDC-PROVIDER-NOTES.md).
import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { TokenAccessPolicy } from '../token-access-policy.js';
import type { ResourceAccess } from '../../tokens/resource-access.js';
import { resourceIndicatorsConfig } from './resource-indicators.js';
import type { logoutPages as createLogoutPages } from './logout-pages.js';

type TokenLike = { clientId?: string | undefined; aud?: unknown; resourceServer?: { audience?: string } };

// Opaque tokens; JWT access tokens are handled by src/revocation/jwt-endpoints.ts.
function introspectionPolicy(policy: TokenAccessPolicy) {
  return async function introspectionAllowed(_ctx: KoaContextWithOIDC, client: { clientId: string }, token: TokenLike) {
    return policy.mayIntrospect(client.clientId, { clientId: token.clientId, aud: token.resourceServer?.audience ?? token.aud });
  };
}

// RFC 7009 §2.1: a client revoking a token that was not issued to it is refused and told so
// (the same answer as for JWTs in src/revocation/jwt-endpoints.ts).
function revocationPolicy(policy: TokenAccessPolicy) {
  return async function revocationAllowed(_ctx: KoaContextWithOIDC, client: { clientId: string }, token: TokenLike) {
    if (await policy.mayRevoke(client.clientId, { clientId: token.clientId, aud: token.resourceServer?.audience ?? token.aud })) {
      return true;
    }
    throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
  };
}

/** DPoP (RFC 9449) as the library is told: the nonce secret every instance shares, and whether nonces are required. */
export interface DpopSettings {
  nonceSecret: Buffer;
  requireNonce: boolean;
}

export function features(
  access: ResourceAccess,
  policy: TokenAccessPolicy,
  logoutPages: ReturnType<typeof createLogoutPages>,
  dpop: DpopSettings,
) {
  const resourceIndicators = resourceIndicatorsConfig(access);
  return {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: introspectionPolicy(policy) },
    // RFC 9701: a client with introspection_signed_response_alg that asks with
    // Accept: application/token-introspection+jwt gets the answer as a signed (and, with
    // introspection_encrypted_response_alg, encrypted) JWT; our JWTs' answers too (internals.ts).
    jwtIntrospection: { enabled: true },
    encryption: { enabled: true },
    revocation: { enabled: true, allowedPolicy: revocationPolicy(policy) },
    resourceIndicators,
    rpInitiatedLogout: { enabled: true, ...logoutPages },
    userinfo: { enabled: true },
    registration: { enabled: false },
    // Pushed authorization requests stay available (RFC 9126) but are not required.
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
    // RFC 9449 on every grant and at userinfo. Proofs are checked first by the gate in front of
    // the library (oidc/dpop-gate.ts), which also spends each proof's jti on every instance; the
    // library's own replay check (find-then-save, keyed on the client) is therefore off.
    dPoP: { enabled: true, nonceSecret: dpop.nonceSecret, requireNonce: () => dpop.requireNonce, allowReplay: true },
  } satisfies Configuration['features'];
}
