// The one way we make a @koa/router Router. Paths are matched case-sensitively (RFC 3986 §6.2.2.1:
// the path is case-sensitive). @koa/router's default is case-insensitive for routes, but the
// middleware a router mounts with `router.use()` (the admin API's token check) is matched
// case-sensitively against its prefix: with the default, GET /ADMIN/clients reached the route
// without passing the check. Matching everything one way closes that gap for good.
import Router from '@koa/router';

export function createRouter(prefix?: string): Router {
  return new Router({ ...(prefix === undefined ? {} : { prefix }), sensitive: true });
}
