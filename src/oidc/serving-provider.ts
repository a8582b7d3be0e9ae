// The oidc-provider instance serving a request. A Provider is a Koa application and our own
// routes run as middleware inside it (app.ts), so `ctx.app` is the provider the request came
// through: the one whose keys and configuration apply, even while a key rotation swaps in a new
// instance for later requests (provider-holder.ts).
import type { Context } from 'koa';
import Provider from 'oidc-provider';

export function servingProvider(ctx: Context): Provider {
  const app: unknown = ctx.app;
  if (!(app instanceof Provider)) throw new TypeError('this route must run inside an oidc-provider application');
  return app;
}
