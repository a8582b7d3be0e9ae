// Admin calls carry a Bearer access token that this server issued by client_credentials for
// the admin API (aud `${issuer}/admin`) with scope `admin`. RFC 6750 §3: a missing or bad
// token is 401 with WWW-Authenticate; a valid token without the scope is 403 insufficient_scope.
import type { Context, Next } from 'koa';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWK } from 'jose';
import type { Catalog } from '../catalog/catalog.js';
import { HttpError } from '../http/errors.js';
import { toPublicJwk } from '../keys/keystore.js';
import { adminResourceIdentifier, adminScope } from '../oidc/admin-resource.js';
import { accessTokenSigningAlg } from '../oidc/config/resource-indicators.js';
import { splitScope } from '../oidc/scopes.js';

export interface AdminIdentity {
  clientId: string;
  jti: string | undefined;
}

function unauthorized(description: string, error?: string): HttpError {
  const challenge = error
    ? `Bearer realm="admin", error="${error}", error_description="${description}"`
    : 'Bearer realm="admin"';
  return new HttpError(401, error ?? 'invalid_token', description, { 'WWW-Authenticate': challenge });
}

export function createAdminAuth(deps: { issuer: string; signingKeys: readonly JWK[]; catalog: Catalog }) {
  const jwks = createLocalJWKSet({ keys: deps.signingKeys.map(toPublicJwk) });
  const audience = adminResourceIdentifier(deps.issuer);

  return async function requireAdminToken(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization');
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (!header) throw unauthorized('an admin access token is required');
    if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"', 'invalid_request');

    let payload;
    try {
      ({ payload } = await jwtVerify(match[1]!, jwks, {
        issuer: deps.issuer,
        typ: 'at+jwt',
        algorithms: [accessTokenSigningAlg],
      }));
    } catch (error) {
      const reason = error instanceof joseErrors.JWTExpired ? 'the access token has expired' : 'the access token is invalid';
      throw unauthorized(reason, 'invalid_token');
    }

    const clientId = typeof payload.client_id === 'string' ? payload.client_id : undefined;
    const client = clientId ? await deps.catalog.findClient(clientId) : undefined;
    if (!clientId || !client) throw unauthorized('the client that obtained this token no longer exists', 'invalid_token');

    // A genuine token of ours for another API is a valid token without the admin grant: 403.
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.includes(audience) || !splitScope(payload.scope).includes(adminScope)) {
      throw new HttpError(403, 'insufficient_scope', 'the access token lacks the admin scope', {
        'WWW-Authenticate': `Bearer realm="admin", error="insufficient_scope", scope="${adminScope}"`,
      });
    }
    ctx.state.admin = { clientId, jti: typeof payload.jti === 'string' ? payload.jti : undefined } satisfies AdminIdentity;
    await next();
  };
}
