// /admin/keys: the public view of the signing keys (never a private part).
import Router from '@koa/router';
import type { KeyMaterial } from '../keys/keystore.js';
import { toPublicJwk } from '../keys/keystore.js';

export function createKeyRoutes(deps: { keys: KeyMaterial }): Router {
  const router = new Router({ prefix: '/keys' });
  router.get('/', function listKeys(ctx) {
    ctx.body = {
      keys: deps.keys.signingKeys.map((key) => ({ ...toPublicJwk(key), status: 'active' })),
    };
  });
  return router;
}
