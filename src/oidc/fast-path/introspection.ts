// The introspection fast path: RFC 7662 introspection of one of our JWT access tokens by a client
// authenticating with its secret or an inline-key private_key_jwt is answered here, in front of
// oidc-provider, with the same answer the library's endpoint gives for it (both call
// revocation/jwt-endpoints.ts `introspectJwt`). Opaque tokens, refresh tokens and every request
// this path is not certain about go to the library as they came (client-credentials.ts says why).
import type { Context, Middleware } from 'koa';
import { introspectJwt, type JwtEndpointDeps } from '../../revocation/jwt-endpoints.js';
import { looksLikeJwt } from '../../tokens/format.js';
import { clientAuthenticationParameters, presentedCredentials, verifyClient, type ClientAuthenticationDeps } from './client-authentication.js';
import { createFastPath, type FastPathCounter } from './fast-path.js';
import { onlyUnderstood, type Form } from './token-form.js';

export interface IntrospectionFastPathDeps extends ClientAuthenticationDeps {
  jwtEndpoints: JwtEndpointDeps;
  fastPathRequests: FastPathCounter;
}

/** oidc-provider/lib/actions/introspection.js reads these (and client authentication's). */
const understood = new Set(['token', 'token_type_hint', ...clientAuthenticationParameters]);

export function createIntrospectionFastPath(deps: IntrospectionFastPathDeps): Middleware {
  async function answer(ctx: Context, form: Form): Promise<boolean> {
    if (!form.token || !onlyUnderstood(form, understood) || !looksLikeJwt(form.token)) return false;
    // A JWT answer (RFC 9701) is the library's to sign: only plain JSON is answered here.
    if (ctx.accepts('json', 'application/token-introspection+jwt') !== 'json') return false;
    // A hint other than access_token is the library's to interpret (RFC 7662 §2.1).
    if ((form.token_type_hint ?? 'access_token') !== 'access_token') return false;
    const presented = presentedCredentials(ctx, form);
    const verified = presented && (await verifyClient(ctx, presented, deps));
    if (!verified || !(await verified.commit())) return false;
    const { client } = verified;
    // Whoever authenticated counts against the per-client rate (throttle/request-rates.ts).
    ctx.state.authenticatedClientId = client.clientId;
    const body = await introspectJwt(deps.jwtEndpoints, client.clientId, form.token);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
    return true;
  }
  return createFastPath('introspection', '/token/introspection', answer, deps.fastPathRequests);
}
