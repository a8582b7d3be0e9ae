// Headers every response carries. Pages additionally get no-store from their routes.
import type { Context, Next } from 'koa';

export function setSecurityHeaders(ctx: Context, next: Next): Promise<void> {
  ctx.set({
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    // script-src is explicit so oidc-provider can add the hash of its form_post auto-submit
    // script; nothing else of ours runs scripts. form-action is left open: the consent and
    // logout forms, and form_post responses, post to client redirect URIs.
    'Content-Security-Policy': "default-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
  });
  if (ctx.secure) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  return next();
}
