// RFC 7009 revocation and RFC 7662 introspection of our JWT access tokens. oidc-provider refuses
// structured tokens at both endpoints (oidc-provider/lib/shared/reject_structured_tokens.js) because it does
// not store them; we verify them ourselves and keep their revocation in the revocation store.
// Runs after the library has authenticated the client.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { RevocationStore } from '../stores/revocations/types.js';
import type { Audit } from '../audit/audit.js';
import type { VerifyAccessToken } from '../tokens/access-token-verifier.js';
import { looksLikeJwt } from '../tokens/format.js';
import { checkAccessToken } from '../tokens/access-token-check.js';

type Next = () => Promise<unknown>;

export interface JwtEndpointDeps {
  audit: Audit;
  verifyAccessToken: VerifyAccessToken;
  revocations: RevocationStore;
  /** Whether the calling client may learn about / revoke this token. */
  mayIntrospect(callerClientId: string, token: { clientId: string | undefined; aud: unknown }): Promise<boolean>;
  mayRevoke(callerClientId: string, token: { clientId: string | undefined; aud: unknown }): Promise<boolean>;
}

/** The presented `token`; the library checked its presence before handing over (validateTokenPresence). */
function presentedToken(ctx: KoaContextWithOIDC): string {
  const token = ctx.oidc.params?.token;
  return typeof token === 'string' ? token : '';
}

export function createJwtRevocation(deps: JwtEndpointDeps) {
  return async function revokeJwtAccessToken(ctx: KoaContextWithOIDC, next: Next): Promise<void> {
    const token = presentedToken(ctx);
    if (!looksLikeJwt(token)) {
      await next();
      return;
    }
    const verified = await deps.verifyAccessToken(token);
    // RFC 7009 §2.2: an invalid or expired token needs no revocation; the answer is 200 anyway.
    if (verified.ok) {
      const { claims } = verified;
      if (!(await deps.mayRevoke(ctx.oidc.client!.clientId, { clientId: claims.client_id, aud: claims.aud }))) {
        throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
      }
      await deps.revocations.revokeToken(claims.jti, claims.exp);
      await deps.audit.record({
        type: 'token_revoked',
        outcome: 'success',
        clientId: ctx.oidc.client!.clientId,
        sub: claims.sub,
        details: { jti: claims.jti, token_client_id: claims.client_id },
      });
    }
    ctx.status = 200;
    ctx.body = '';
  };
}

/**
 * The RFC 7662 §2.2 answer for one of our JWT access tokens, asked about by `callerClientId`
 * (authenticated by the library, or by the introspection fast path: oidc/fast-path).
 */
export async function introspectJwt(deps: JwtEndpointDeps, callerClientId: string, token: string): Promise<Record<string, unknown>> {
  const inactive = { active: false };
  // If the revocation state cannot be read this throws: never `active: true` on a guess.
  const checked = await checkAccessToken(deps, token);
  if (!checked.ok) return inactive;
  const { claims } = checked;
  if (!(await deps.mayIntrospect(callerClientId, { clientId: claims.client_id, aud: claims.aud }))) return inactive;
  // RFC 9449 §6.2: a bound token says so, with its key, as the library says it of opaque ones.
  const jkt = typeof claims.cnf?.jkt === 'string' ? claims.cnf.jkt : undefined;
  return {
    active: true,
    token_type: jkt ? 'DPoP' : 'Bearer',
    iss: claims.iss,
    sub: claims.sub,
    aud: claims.aud,
    client_id: claims.client_id,
    scope: claims.scope,
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
    ...(claims.act ? { act: claims.act } : {}),
    ...(jkt ? { cnf: { jkt } } : {}),
  };
}

export function createJwtIntrospection(deps: JwtEndpointDeps) {
  return async function introspectJwtAccessToken(ctx: KoaContextWithOIDC, next: Next): Promise<void> {
    const token = presentedToken(ctx);
    if (!looksLikeJwt(token)) {
      await next();
      return;
    }
    ctx.body = await introspectJwt(deps, ctx.oidc.client!.clientId, token);
  };
}
