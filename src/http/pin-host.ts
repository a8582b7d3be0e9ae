// oidc-provider builds every endpoint URL (discovery, redirects) from the request's host. A
// request with a forged Host or X-Forwarded-Host would get discovery pointing elsewhere, and a
// shared cache could serve that to everyone. The issuer names our one host, so requests are
// answered as if addressed to it.
import type { Context, Next } from 'koa';

export function createHostPin(issuer: string) {
  const host = new URL(issuer).host;
  return function pinHostToIssuer(ctx: Context, next: Next): Promise<void> {
    ctx.req.headers.host = host;
    delete ctx.req.headers['x-forwarded-host'];
    return next();
  };
}
