// Admin calls carry a Bearer access token that this server issued by client_credentials for
// the admin API (aud `${issuer}/admin`) with scope `admin`. RFC 6750 §3: a missing or bad
// token is 401 with WWW-Authenticate; a valid token without the scope is 403 insufficient_scope.
import type { Context, Next } from 'koa';
import type { Catalog } from '../catalog/catalog.js';
import { HttpError } from '../http/errors.js';
import { adminResourceIdentifier, adminScope } from '../oidc/admin-resource.js';
import { splitScope } from '../oidc/scopes.js';
import { tokenIdentity, type VerifyAccessToken } from '../revocation/access-tokens.js';
import type { RevocationStore } from '../stores/revocations/types.js';

export interface AdminIdentity {
  clientId: string;
  jti: string;
}

// RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E, so no quote or backslash.
function challengeText(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "'");
}

function unauthorized(description: string, error?: string): HttpError {
  // §3.1: a request without credentials gets a bare challenge and no error code.
  const challenge = error
    ? `Bearer realm="admin", error="${error}", error_description="${challengeText(description)}"`
    : 'Bearer realm="admin"';
  return new HttpError(401, error ?? 'unauthorized', description, { 'WWW-Authenticate': challenge });
}

export function createAdminAuth(deps: {
  issuer: string;
  catalog: Catalog;
  verifyAccessToken: VerifyAccessToken;
  revocations: RevocationStore;
}) {
  const audience = adminResourceIdentifier(deps.issuer);

  return async function requireAdminToken(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization');
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (!header) throw unauthorized('an admin access token is required');
    if (!match) throw unauthorized('the Authorization header must be: Bearer <token>', 'invalid_request');

    const verified = await deps.verifyAccessToken(match[1]!);
    if (!verified.ok) {
      throw unauthorized(verified.reason === 'expired' ? 'the access token has expired' : 'the access token is invalid', 'invalid_token');
    }
    const { claims } = verified;
    const clientId = claims.client_id;
    const client = clientId ? await deps.catalog.findClient(clientId) : undefined;
    if (!clientId || !client) throw unauthorized('the client that obtained this token no longer exists', 'invalid_token');
    if (await deps.revocations.isRevoked(tokenIdentity(claims))) {
      throw unauthorized('the access token has been revoked', 'invalid_token');
    }

    // A genuine token of ours for another API is a valid token without the admin grant: 403.
    // Admin tokens come from client_credentials: the subject is the client itself, never a user
    // who signed in to an app that happens to hold the admin scope.
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(audience) || !splitScope(claims.scope).includes(adminScope) || claims.sub !== clientId) {
      throw new HttpError(403, 'insufficient_scope', 'the access token lacks the admin scope', {
        'WWW-Authenticate': `Bearer realm="admin", error="insufficient_scope", scope="${adminScope}"`,
      });
    }
    ctx.state.admin = { clientId, jti: claims.jti } satisfies AdminIdentity;
    await next();
  };
}
