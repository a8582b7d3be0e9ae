// Liveness and readiness. /healthz: the process answers. /readyz: Postgres and the ephemeral
// store answer within a second; a load balancer stops routing to an instance that cannot.
import type Router from '@koa/router';
import { createRouter } from './router.js';
import { pingDatabase, type Database } from '../stores/database.js';
import type { EphemeralStore } from '../stores/ephemeral/types.js';

const checkTimeoutMs = 1_000;

async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function check(name: string, probe: () => Promise<unknown>): Promise<[string, string]> {
  try {
    await within(probe(), checkTimeoutMs);
    return [name, 'ok'];
  } catch (error) {
    return [name, `down: ${(error as Error).message}`];
  }
}

export function createHealthRoutes(deps: { db: Database; store: EphemeralStore }): Router {
  const router = createRouter();
  router.get('/healthz', function healthz(ctx) {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async function readyz(ctx) {
    const checks = Object.fromEntries(
      await Promise.all([
        check(deps.db.kind, () => pingDatabase(deps.db)),
        check(deps.store.kind === 'redis' ? 'redis' : 'ephemeral', () => deps.store.ping()),
      ]),
    );
    const ready = Object.values(checks).every((value) => value === 'ok');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', checks };
  });
  return router;
}
