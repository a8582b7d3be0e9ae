// The phantom-token trade at the introspection endpoint (tokens/phantom-token.ts): a gateway
// asks with `Accept: application/jwt` and gets the inner JWT as the body (200, application/jwt),
// or 204 No Content when the token gives none (unknown, expired, revoked, or not for an API the
// gateway acts for). A gateway must treat anything but a 200 with a JWT as "not authenticated".
// Answered by the introspection fast path when it authenticates the gateway itself, else here,
// after the library authenticated it.
import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { phantomTokenFor, phantomTokenMediaType, type PhantomTokenDeps } from '../tokens/phantom-token.js';

const introspectionJwt = 'application/token-introspection+jwt';

/** True when the request asks for the trade: `application/jwt` preferred over JSON and RFC 9701. */
export function asksForPhantomToken(ctx: Context): boolean {
  return ctx.accepts('json', introspectionJwt, phantomTokenMediaType) === phantomTokenMediaType;
}

/** The trade's answer (RFC 6749 §5.1's no-store, as every introspection answer). */
export function answerPhantomToken(ctx: Context, jwt: string | undefined): void {
  ctx.set('Cache-Control', 'no-store');
  if (jwt === undefined) {
    ctx.status = 204;
    ctx.body = null;
    return;
  }
  ctx.type = phantomTokenMediaType;
  ctx.body = jwt;
}

export function createPhantomIntrospection(deps: PhantomTokenDeps) {
  return async function tradePhantomToken(ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> {
    const token = ctx.oidc.params?.token;
    if (!asksForPhantomToken(ctx) || typeof token !== 'string') {
      await next();
      return;
    }
    answerPhantomToken(ctx, await phantomTokenFor(deps, ctx.oidc.provider, ctx.oidc.client!.clientId, token));
  };
}
