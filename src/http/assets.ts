// The one stylesheet our pages use, served by us (pages load nothing from other origins).
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type Router from '@koa/router';
import { createRouter } from './router.js';

const stylesheet = fileURLToPath(new URL('../../public/portcullis.css', import.meta.url));

export function createAssetRoutes(): Router {
  const css = fs.readFileSync(stylesheet);
  const router = createRouter();
  router.get('/assets/portcullis.css', function serveStylesheet(ctx) {
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
  });
  return router;
}
