// Our own HTTP APIs (the admin API, the revocation feed) take a Bearer access token that this
// server issued by client_credentials for that API's audience, with its scope. RFC 6750 §3: a
// missing or bad token is 401 with WWW-Authenticate; a valid token of ours without the audience
// and scope, or from a client that no longer holds the scope, is 403 insufficient_scope.
import type { Context, Next } from 'koa';
import type { Catalog } from '../catalog/catalog.js';
import { HttpError } from '../http/errors.js';
import { splitScope } from './scopes.js';
import type { VerifyAccessToken } from './access-token-verifier.js';
import { checkAccessToken } from './access-token-check.js';
import type { RevocationStore } from '../stores/revocations/types.js';
import type { ResourceAccess } from './resource-access.js';
import { audiencesOf } from './claims.js';

export interface CallerIdentity {
  clientId: string;
  jti: string;
}

// RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E, so no quote or backslash.
function challengeText(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "'");
}

function unauthorized(realm: string, description: string, error?: string): HttpError {
  // §3.1: a request without credentials gets a bare challenge and no error code.
  const challenge = error
    ? `Bearer realm="${realm}", error="${error}", error_description="${challengeText(description)}"`
    : `Bearer realm="${realm}"`;
  return new HttpError(401, error ?? 'unauthorized', description, { 'WWW-Authenticate': challenge });
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
}

/** Middleware that admits client_credentials tokens of ours for `audience` holding `scope`. */
export function createBearerAuth(deps: BearerAuthDeps, api: { realm: string; audience: string; scope: string }) {
  const { realm, audience, scope } = api;
  return async function requireBearerToken(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization');
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (!header) throw unauthorized(realm, 'an access token is required');
    if (!match) throw unauthorized(realm, 'the Authorization header must be: Bearer <token>', 'invalid_request');

    const checked = await checkAccessToken(deps, match[1]!);
    if (!checked.ok && checked.reason !== 'revoked') {
      throw unauthorized(realm, checked.reason === 'expired' ? 'the access token has expired' : 'the access token is invalid', 'invalid_token');
    }
    const { claims } = checked;
    const clientId = claims.client_id;
    const client = clientId ? await deps.catalog.findClient(clientId) : undefined;
    if (!clientId || !client) throw unauthorized(realm, 'the client that obtained this token no longer exists', 'invalid_token');
    if (!checked.ok) throw unauthorized(realm, 'the access token has been revoked', 'invalid_token');

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
