// The introspection fast path: RFC 7662 introspection of one of our JWT access tokens by a client
// authenticating with its secret or an inline-key private_key_jwt is answered here, in front of
// oidc-provider, with the same answer the library's endpoint gives for it (both call
// revocation/jwt-endpoints.ts `introspectJwt`). Opaque tokens, refresh tokens and every request
// this path is not certain about go to the library as they came (client-credentials.ts says why).
import type { Context, Next } from 'koa';
import type { Counter } from 'prom-client';
import { introspectJwt, type JwtEndpointDeps } from '../../revocation/jwt-endpoints.js';
import { looksLikeJwt } from '../../revocation/access-tokens.js';
import {
  clientAuthenticationParameters,
  findClientIn,
  presentedCredentials,
  verifyClient,
  type ClientAuthenticationDeps,
} from './client-authentication.js';
import { asksForOtherMechanisms, onlyUnderstood, readTokenForm } from './token-form.js';

export interface IntrospectionFastPathDeps extends ClientAuthenticationDeps {
  jwtEndpoints: JwtEndpointDeps;
  /** Counts answered requests ('served') and requests handed to the library ('handed_over'). */
  fastPathRequests: Counter<'endpoint' | 'outcome'>;
}

/** lib/actions/introspection.js reads these (and client authentication's). */
const understood = new Set(['token', 'token_type_hint', ...clientAuthenticationParameters]);

export function createIntrospectionFastPath(deps: IntrospectionFastPathDeps) {
  const served = deps.fastPathRequests.labels({ endpoint: 'introspection', outcome: 'served' });
  const handedOver = deps.fastPathRequests.labels({ endpoint: 'introspection', outcome: 'handed_over' });

  async function answer(ctx: Context): Promise<boolean> {
    if (asksForOtherMechanisms(ctx)) return false;
    const form = await readTokenForm(ctx);
    if (!form?.token || !onlyUnderstood(form, understood) || !looksLikeJwt(form.token)) return false;
    // A hint other than access_token is the library's to interpret (RFC 7662 §2.1).
    if ((form.token_type_hint ?? 'access_token') !== 'access_token') return false;
    const presented = presentedCredentials(ctx, form);
    if (!presented) return false;
    const verified = await verifyClient(ctx, presented, findClientIn(ctx), deps);
    if (!verified || !(await verified.commit())) return false;
    const { client } = verified;
    // Whoever authenticated counts against the per-client rate (throttle/request-rates.ts).
    ctx.state.authenticatedClientId = client.clientId;
    const body = await introspectJwt(deps.jwtEndpoints, client.clientId, form.token);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
    return true;
  }

  return async function introspectionFastPath(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== '/token/introspection') return next();
    if (await answer(ctx)) {
      served.inc();
      return;
    }
    handedOver.inc();
    return next();
  };
}
