// Counts and times every HTTP request by normalised route, method and status.
import type { Context, Next } from 'koa';
import { normaliseRoute, type Metrics } from './metrics.js';

export function createHttpMetrics(metrics: Metrics) {
  return async function measureRequest(ctx: Context, next: Next): Promise<void> {
    const stopTimer = metrics.httpDuration.startTimer();
    ctx.res.once('finish', () => {
      const labels = { route: normaliseRoute(ctx.path), method: ctx.method, status: String(ctx.res.statusCode) };
      metrics.httpRequests.inc(labels);
      stopTimer(labels);
    });
    await next();
  };
}
