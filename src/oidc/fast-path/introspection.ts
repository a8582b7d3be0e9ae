// The introspection fast path: RFC 7662 introspection of one of our JWT access tokens by a client
// authenticating with its secret or an inline-key private_key_jwt is answered here, in front of
// oidc-provider, with the same answer the library's endpoint gives for it (both call
// revocation/jwt-endpoints.ts `introspectJwt`); so is a gateway's phantom-token trade
// (Accept: application/jwt, any token: oidc/phantom-introspection.ts, the same answer as the
// library path's). Opaque tokens asked about as JSON, refresh tokens, RFC 9701 JWT answers and
// every request this path is not certain about go to the library as they came
// (client-credentials.ts says why).
import type { Context, Middleware } from 'koa';
import { introspectJwt, type JwtEndpointDeps } from '../../revocation/jwt-endpoints.js';
import { looksLikeJwt } from '../../tokens/format.js';
import { clientAuthenticationParameters, presentedCredentials, verifyClient, type ClientAuthenticationDeps } from './client-authentication.js';
import { createFastPath, type FastPathCounter } from './fast-path.js';
import { onlyUnderstood, type Form } from './token-form.js';
import { answerPhantomToken, asksForPhantomToken } from '../phantom-introspection.js';
import { phantomTokenFor, type PhantomTokenDeps } from '../../tokens/phantom-token.js';
import { servingProvider } from '../serving-provider.js';

export interface IntrospectionFastPathDeps extends ClientAuthenticationDeps {
  jwtEndpoints: JwtEndpointDeps;
  phantomTokens: PhantomTokenDeps;
  fastPathRequests: FastPathCounter;
}

/** oidc-provider/lib/actions/introspection.js reads these (and client authentication's). */
const understood = new Set(['token', 'token_type_hint', ...clientAuthenticationParameters]);

export function createIntrospectionFastPath(deps: IntrospectionFastPathDeps): Middleware {
  async function answer(ctx: Context, form: Form): Promise<boolean> {
    if (!form.token || !onlyUnderstood(form, understood)) return false;
    // The phantom trade (oidc/phantom-introspection.ts) for any token; plain JSON for our JWTs. A
    // JWT answer (RFC 9701) is the library's to sign, and opaque tokens are the library's to read.
    const phantom = asksForPhantomToken(ctx);
    if (!phantom && (!looksLikeJwt(form.token) || ctx.accepts('json', 'application/token-introspection+jwt') !== 'json')) return false;
    // A hint other than access_token is the library's to interpret (RFC 7662 §2.1).
    if ((form.token_type_hint ?? 'access_token') !== 'access_token') return false;
    const presented = presentedCredentials(ctx, form);
    const verified = presented && (await verifyClient(ctx, presented, deps));
    if (!verified || !(await verified.commit())) return false;
    const { client } = verified;
    // Whoever authenticated counts against the per-client rate (throttle/request-rates.ts).
    ctx.state.authenticatedClientId = client.clientId;
    if (phantom) {
      answerPhantomToken(ctx, await phantomTokenFor(deps.phantomTokens, servingProvider(ctx), client.clientId, form.token));
      return true;
    }
    const body = await introspectJwt(deps.jwtEndpoints, client.clientId, form.token);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
    return true;
  }
  return createFastPath('introspection', '/token/introspection', answer, deps.fastPathRequests);
}
