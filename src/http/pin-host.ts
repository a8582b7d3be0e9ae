// oidc-provider builds every endpoint URL (discovery, redirects) from the request's host. A
// request with a forged Host or X-Forwarded-Host would get discovery pointing elsewhere, and a
// shared cache could serve that to everyone. The issuer names our one host, so requests are
// answered as if addressed to it. The forwarded host is kept aside (`forwardedHostOf`) for the one
// route that must know it: forward-auth, where a gateway reports the request a caller made to it.
import type { Context, Next } from 'koa';

const forwardedHosts = new WeakMap<object, string>();

/** The X-Forwarded-Host the request came with, before the pin removed it. */
export function forwardedHostOf(ctx: Context): string | undefined {
  return forwardedHosts.get(ctx.req);
}

export function createHostPin(issuer: string) {
  const host = new URL(issuer).host;
  return function pinHostToIssuer(ctx: Context, next: Next): Promise<void> {
    ctx.req.headers.host = host;
    const forwarded = ctx.req.headers['x-forwarded-host'];
    if (typeof forwarded === 'string') forwardedHosts.set(ctx.req, forwarded);
    delete ctx.req.headers['x-forwarded-host'];
    return next();
  };
}
