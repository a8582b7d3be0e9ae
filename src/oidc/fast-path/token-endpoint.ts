// POST /token in front of oidc-provider: the form goes to the fast path of its grant type (client
// credentials, token exchange); any other grant type, or a grant that declines, is the library's.
import type { Middleware } from 'koa';
import { createFastPath, type FastAnswer, type FastPathCounter } from './fast-path.js';

export function createTokenEndpointFastPath(grants: ReadonlyMap<string, FastAnswer>, counter: FastPathCounter): Middleware {
  return createFastPath(
    'token',
    '/token',
    async (ctx, form) => {
      const grant = form.grant_type === undefined ? undefined : grants.get(form.grant_type);
      return grant ? grant(ctx, form) : false;
    },
    counter,
  );
}
