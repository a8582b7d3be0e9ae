// Our own HTTP APIs (the admin API, the revocation feed) take a Bearer access token that this
// server issued by client_credentials for that API's audience, with its scope. RFC 6750 §3: a
// missing or bad token is 401 with WWW-Authenticate; a valid token of ours without the audience
// and scope, or from a client that no longer holds the scope, is 403 insufficient_scope.
// A DPoP-bound token (RFC 9449 §7) is taken only as `Authorization: DPoP` with a proof by its
// key, checked and spent like every proof (dpop-proofs.ts); it is refused as a Bearer token.
import type { Context, Next } from 'koa';
import type { Catalog } from '../catalog/catalog.js';
import { HttpError } from '../http/errors.js';
import { splitScope } from './scopes.js';
import type { VerifyAccessToken } from './access-token-verifier.js';
import { checkAccessToken } from './access-token-check.js';
import type { RevocationStore } from '../stores/revocations/types.js';
import type { ResourceAccess } from './resource-access.js';
import { audiencesOf } from './claims.js';
import { dpopHeaders, type TakeDpopProof } from './dpop-proofs.js';

export interface CallerIdentity {
  clientId: string;
  jti: string;
}

// RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E, so no quote or backslash.
export function challengeText(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "'");
}

export function unauthorized(realm: string, description: string, error?: string, scheme: 'Bearer' | 'DPoP' = 'Bearer', headers: Record<string, string> = {}): HttpError {
  // §3.1: a request without credentials gets a bare challenge and no error code.
  const challenge = error
    ? `${scheme} realm="${realm}", error="${error}", error_description="${challengeText(description)}"`
    : `${scheme} realm="${realm}"`;
  return new HttpError(401, error ?? 'unauthorized', description, { ...headers, 'WWW-Authenticate': challenge });
}

function insufficientScope(realm: string, scope: string, description: string): HttpError {
  return new HttpError(403, 'insufficient_scope', description, {
    'WWW-Authenticate': `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"`,
  });
}

export interface BearerAuthDeps {
  catalog: Catalog;
  verifyAccessToken: VerifyAccessToken;
  revocations: RevocationStore;
  access: Pick<ResourceAccess, 'find' | 'reachableScopes'>;
  takeDpopProof: TakeDpopProof;
}

/** The access token of the Authorization header (RFC 6750 §2.1, RFC 9449 §7.1), or the 401 to answer. */
export function presentedToken(ctx: Context, realm: string): { scheme: 'Bearer' | 'DPoP'; token: string } {
  const header = ctx.get('authorization');
  const match = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
  if (!header) throw unauthorized(realm, 'an access token is required');
  if (!match) throw unauthorized(realm, 'the Authorization header must be: Bearer <token> (or DPoP <token> with a DPoP proof)', 'invalid_request');
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
}

/**
 * RFC 9449 §7: a bound token (`cnf.jkt`) needs the DPoP scheme and a proof by that key for this
 * request (method, URL, `ath`); an unbound token sent as DPoP is refused too (§7.1: the scheme
 * says the token is bound).
 */
export async function checkSenderConstraint(
  ctx: Context,
  takeDpopProof: TakeDpopProof,
  realm: string,
  scheme: 'Bearer' | 'DPoP',
  token: string,
  jkt: string | undefined,
  /** The request the proof is for: this one, or the one a gateway forwards (gateway/forward-auth.ts). */
  target: { method: string; url: string } = { method: ctx.method, url: `${ctx.protocol}://${ctx.host}${ctx.path}` },
): Promise<void> {
  if (jkt === undefined) {
    if (scheme === 'DPoP') throw unauthorized(realm, 'the access token is not DPoP-bound: send it as Bearer', 'invalid_token', 'DPoP');
    return;
  }
  if (scheme !== 'DPoP') throw unauthorized(realm, 'the access token is DPoP-bound: send it as DPoP <token> with a DPoP proof', 'invalid_token', 'DPoP');
  const proofs = dpopHeaders(ctx.req.rawHeaders);
  if (proofs.length === 0) throw unauthorized(realm, 'a DPoP proof is required with this access token', 'invalid_dpop_proof', 'DPoP');
  const outcome = await takeDpopProof({ proofs, method: target.method, url: target.url, accessToken: token });
  if (!outcome.ok) {
    throw unauthorized(realm, outcome.description, outcome.error, 'DPoP', outcome.nonce ? { 'DPoP-Nonce': outcome.nonce } : {});
  }
  if (outcome.proof.jkt !== jkt) throw unauthorized(realm, 'the DPoP proof is not signed by the key the access token is bound to', 'invalid_dpop_proof', 'DPoP');
  if (outcome.nonce) ctx.set('DPoP-Nonce', outcome.nonce);
}

/** Middleware that admits client_credentials tokens of ours for `audience` holding `scope`. */
export function createBearerAuth(deps: BearerAuthDeps, api: { realm: string; audience: string; scope: string }) {
  const { realm, audience, scope } = api;
  return async function requireBearerToken(ctx: Context, next: Next): Promise<void> {
    const { scheme, token } = presentedToken(ctx, realm);

    const checked = await checkAccessToken(deps, token);
    if (!checked.ok && checked.reason !== 'revoked') {
      throw unauthorized(realm, checked.reason === 'expired' ? 'the access token has expired' : 'the access token is invalid', 'invalid_token');
    }
    const { claims } = checked;
    const clientId = claims.client_id;
    const client = clientId ? await deps.catalog.findClient(clientId) : undefined;
    if (!clientId || !client) throw unauthorized(realm, 'the client that obtained this token no longer exists', 'invalid_token');
    if (!checked.ok) throw unauthorized(realm, 'the access token has been revoked', 'invalid_token');
    await checkSenderConstraint(ctx, deps.takeDpopProof, realm, scheme, token, claims.cnf?.jkt);

    // A genuine token of ours for another API is a valid token without the admin grant: 403.
    // These tokens come from client_credentials: the subject is the client itself, never a user
    // who signed in to an app that happens to hold the scope.
    if (!audiencesOf(claims.aud).includes(audience) || !splitScope(claims.scope).includes(scope) || claims.sub !== clientId) {
      throw insufficientScope(realm, scope, `the access token lacks the ${scope} scope`);
    }
    // The scope in the token is what the client held when it asked; what it may do now is what
    // the token endpoint would grant it now (tokens/resource-access.ts, from the catalog, which
    // every instance refreshes when a client changes), as introspection asks the client's
    // current metadata. So a demotion counts within a second even for a token that escaped
    // revocation. 403: the token is genuine, the privilege is gone.
    const api = await deps.access.find(audience);
    if (!api || !(await deps.access.reachableScopes(api, clientId)).includes(scope)) {
      throw insufficientScope(realm, scope, `the client no longer holds the ${scope} scope`);
    }
    ctx.state.caller = { clientId, jti: claims.jti } satisfies CallerIdentity;
    await next();
  };
}
