// GET /metrics in the Prometheus text format. It holds counts and timings only (no identifiers);
// still, expose it to your monitoring network only. With WORKERS > 1 each worker answers with its
// own numbers (the `pid` default label tells them apart).
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import type { Metrics } from './metrics.js';

export function createMetricsRoutes(metrics: Metrics): Router {
  const router = createRouter();
  router.get('/metrics', async function serveMetrics(ctx) {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}
