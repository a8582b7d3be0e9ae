// Koa middleware order: access log → errors → security headers → health →
// assets → interactions → admin → provider.
// oidc-provider v9 ends requests on its own routes, so ours are mounted before it.
import Koa from 'koa';
import { createAdminRouter, type AdminDeps } from './admin/router.js';
import { createInteractionRoutes } from './interactions/routes.js';
import { createFeedRoutes } from './revocation/feed-routes.js';
import type { FeedHub } from './revocation/feed-hub.js';
import type { ProviderHolder } from './oidc/provider-holder.js';
import type { Audit } from './audit/audit.js';
import { createTokenRateLimit } from './throttle/request-rates.js';
import { createHttpMetrics } from './metrics/http-metrics.js';
import { createHostPin } from './http/pin-host.js';
import { createMetricsRoutes } from './metrics/routes.js';
import type { Throttles } from './throttle/throttles.js';
import type { Totp } from './mfa/totp.js';
import type { Views } from './http/views.js';
import { createAccessLog } from './http/access-log.js';
import { createAssetRoutes } from './http/assets.js';
import { createErrorHandler } from './http/errors.js';
import { createHealthRoutes } from './http/health.js';
import { setSecurityHeaders } from './http/security-headers.js';
import type { Logger } from './log.js';
import type { EphemeralStore } from './stores/ephemeral/types.js';

export interface AppDeps extends AdminDeps {
  providers: ProviderHolder;
  store: EphemeralStore;
  log: Logger;
  views: Views;
  feedHub: FeedHub;
  cookieKeys: readonly string[];
  throttles: Throttles;
  audit: Audit;
  totp: Totp;
  trustProxy: boolean;
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: deps.trustProxy });
  // Koa's default handler prints to stderr; ours logs JSON and never echoes internals.
  app.silent = true;
  app.on('error', (error: unknown) => deps.log.error({ err: error }, 'koa error'));

  app.use(createHostPin(deps.issuer));
  app.use(createHttpMetrics(deps.metrics));
  app.use(createAccessLog(deps.log));
  app.use(createErrorHandler(deps.log));
  app.use(setSecurityHeaders);
  app.use(createTokenRateLimit(deps.throttles, (limit) => deps.metrics.throttled.inc({ limit })));
  for (const router of [
    createHealthRoutes(deps),
    createMetricsRoutes(deps.metrics),
    createAssetRoutes(),
    createInteractionRoutes({ ...deps, cookieKeys: deps.cookieKeys }),
    createFeedRoutes({ ...deps, hub: deps.feedHub }),
    createAdminRouter(deps),
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  // The provider is a Koa app of its own; it answers everything our routers did not. Headers we
  // set above are already on the Node response, so they reach its responses too.
  app.use(async function delegateToProvider(ctx) {
    ctx.respond = false;
    await deps.providers.handle(ctx.req, ctx.res);
  });
  return app;
}
