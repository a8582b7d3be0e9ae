// Counts and times every HTTP request by normalised route, method and status (the histogram's
// _count is the request counter). Method and status are bounded: Node's parser knows a fixed set
// of methods.
import type { Context, Next } from 'koa';
import { childrenOf, normaliseRoute, type Metrics } from './metrics.js';

export function createHttpMetrics(metrics: Metrics) {
  const durationOf = childrenOf((labels) => metrics.httpDuration.labels(labels));
  return function measureRequest(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    ctx.res.once('finish', () => {
      const route = normaliseRoute(ctx.path);
      const status = String(ctx.res.statusCode);
      const method = ctx.method;
      durationOf(`${route} ${method} ${status}`, () => ({ route, method, status })).observe((performance.now() - started) / 1000);
    });
    return next();
  };
}
