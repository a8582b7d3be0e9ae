// The admin API under /admin: JSON in, JSON out, every call behind an admin access token.
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import type { Context, Next } from 'koa';
import type { Catalog } from '../catalog/catalog.js';
import type { KeyRing } from '../keys/key-ring.js';
import type { Database } from '../stores/database.js';
import { createBearerAuth, type CallerIdentity } from '../tokens/bearer-auth.js';
import type { TakeDpopProof } from '../tokens/dpop-proofs.js';
import type { Audit } from '../audit/audit.js';
import { adminResourceIdentifier, adminScope } from '../catalog/admin-resource.js';
import { createClientRoutes } from './clients.js';
import { createResourceRoutes } from './resources.js';
import { createUserRoutes } from './users.js';
import { createKeyRoutes } from './keys.js';
import { createRevocationRoutes } from './revocations.js';
import { createEventRoutes } from './events.js';
import type { VerifyAccessToken } from '../tokens/access-token-verifier.js';
import type { RevocationStore } from '../stores/revocations/types.js';
import type { EphemeralStore } from '../stores/ephemeral/types.js';
import { notFound } from '../http/errors.js';
import { createAdminRateLimit } from '../throttle/request-rates.js';
import type { Throttles } from '../throttle/throttles.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ResourceAccess } from '../tokens/resource-access.js';
import type { Logger } from '../log.js';

export interface AdminDeps {
  db: Database;
  catalog: Catalog;
  keyRing: KeyRing;
  keyRotationDelay: number;
  issuer: string;
  revocations: RevocationStore;
  verifyAccessToken: VerifyAccessToken;
  store: EphemeralStore;
  throttles: Throttles;
  audit: Audit;
  metrics: Metrics;
  access: ResourceAccess;
  log: Logger;
  takeDpopProof: TakeDpopProof;
}

// Every change made through the admin API is an audit event naming the admin client that made
// it (bodies are not recorded: they may hold passwords).
function createAdminChangeAudit(audit: Audit) {
  return async function auditAdminChange(ctx: Context, next: Next): Promise<void> {
    await next();
    if (ctx.method === 'GET' || ctx.status >= 400) return;
    const caller = ctx.state.caller as CallerIdentity | undefined;
    await audit.record({
      type: 'admin_change',
      outcome: 'success',
      clientId: caller?.clientId,
      details: { method: ctx.method, path: ctx.path, status: ctx.status, token_jti: caller?.jti },
    });
  };
}

async function noStore(ctx: Context, next: Next): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  await next();
}

export function createAdminRouter(deps: AdminDeps): Router {
  const router = createRouter('/admin');
  router.use(noStore);
  router.use(createAdminRateLimit(deps.throttles, (limit) => deps.metrics.throttled.inc({ limit })));
  router.use(createBearerAuth(deps, { realm: 'admin', audience: adminResourceIdentifier(deps.issuer), scope: adminScope }));
  router.use(createAdminChangeAudit(deps.audit));
  for (const routes of [
    createClientRoutes(deps),
    createUserRoutes(deps),
    createResourceRoutes(deps),
    createKeyRoutes(deps),
    createRevocationRoutes(deps),
    createEventRoutes(deps),
  ]) {
    router.use(routes.routes(), routes.allowedMethods({ throw: false }));
  }
  router.all('/{*rest}', function unknownAdminRoute() {
    throw notFound('no such admin resource');
  });
  return router;
}
