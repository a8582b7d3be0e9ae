// The front door: everything Portcullis answers itself, and what every request passes through,
// as one Koa middleware. oidc-provider's Provider is itself a Koa application, so this runs inside
// it, in front of the library's routes (provider.ts installs it first): one Koa context per
// request, and our routes see the provider that serves them (oidc/serving-provider.ts).
// Order: host pin → metrics → access log → errors → security headers → token rate limit →
// DPoP proofs (oidc/dpop-gate.ts) → fast paths (client credentials, token exchange, introspection: oidc/fast-path) → our routes
// (health, metrics, assets, interactions, revocation feed, admin) → the library.
import compose from 'koa-compose';
import type { Middleware } from 'koa';
import { createAdminRouter, type AdminDeps } from './admin/router.js';
import { createInteractionRoutes } from './interactions/routes.js';
import { createFeedRoutes } from './revocation/feed-routes.js';
import { createForwardAuthRoutes, forwardAuthPath } from './gateway/forward-auth.js';
import type { FeedHub } from './revocation/feed-hub.js';
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
import { createClientCredentialsGrant } from './oidc/fast-path/client-credentials.js';
import { createTokenEndpointFastPath } from './oidc/fast-path/token-endpoint.js';
import type { FastAnswer } from './oidc/fast-path/fast-path.js';
import { createTokenExchangeGrant } from './oidc/fast-path/token-exchange.js';
import { tokenExchangeGrantType } from './tokens/token-exchange.js';
import { createIntrospectionFastPath } from './oidc/fast-path/introspection.js';
import type { JwtEndpointDeps } from './revocation/jwt-endpoints.js';
import type { createClientAssertionCheck } from './oidc/config/client-assertions.js';
import type { ResourceAccess } from './tokens/resource-access.js';
import type { PhantomTokenDeps } from './tokens/phantom-token.js';
import { clockTolerance } from './oidc/provider.js';
import type { EphemeralStore } from './stores/ephemeral/types.js';
import { createDpopGate } from './oidc/dpop-gate.js';

export interface AppDeps extends AdminDeps {
  store: EphemeralStore;
  log: Logger;
  views: Views;
  feedHub: FeedHub;
  cookieKeys: readonly string[];
  throttles: Throttles;
  audit: Audit;
  totp: Totp;
  access: ResourceAccess;
  jwtEndpoints: JwtEndpointDeps;
  tokenExchangeMaxDepth: number;
  checkClientAssertion: ReturnType<typeof createClientAssertionCheck>;
  /** The phantom-token trade (and the one access-token signer of the fast paths). */
  phantomTokens: PhantomTokenDeps;
}

/**
 * The first path segments our routers answer. Everything else (the library's endpoints: token,
 * authorization, JWKS, discovery...) skips them, so the token hot path does not pay for matching
 * a dozen route tables. Case-sensitive, as the routers are (http/router.ts).
 */
const ownPathPrefixes = ['/admin', '/interaction', '/healthz', '/readyz', '/metrics', '/assets/', '/revocations', forwardAuthPath];

const isOwnPath = (path: string): boolean => ownPathPrefixes.some((prefix) => path.startsWith(prefix));

/** Our own routes (health, metrics, assets, interactions, revocation feed, admin), for `ownPathPrefixes` only. */
function createOwnRoutes(deps: AppDeps): Middleware {
  const routes = compose(
    [
      createHealthRoutes(deps),
      createMetricsRoutes(deps.metrics),
      createAssetRoutes(),
      createInteractionRoutes(deps),
      createFeedRoutes({ ...deps, hub: deps.feedHub }),
      createForwardAuthRoutes(deps),
      createAdminRouter(deps),
    ].flatMap((router) => [router.routes(), router.allowedMethods()]),
  ) as Middleware;
  return async function ownRoutes(ctx, next) {
    if (isOwnPath(ctx.path)) await routes(ctx, next);
    else await next();
  };
}

/** The token and introspection endpoints answered in front of the library (oidc/fast-path), or handed over to it. */
function createFastPaths(deps: AppDeps): Middleware[] {
  const authentication = { store: deps.store, checkClientAssertion: deps.checkClientAssertion, clockTolerance };
  const issuing = { issuer: deps.issuer, signAccessToken: deps.phantomTokens.signAccessToken, tokensIssued: deps.metrics.tokensIssued };
  return [
    createTokenEndpointFastPath(
      new Map<string, FastAnswer>([
        ['client_credentials', createClientCredentialsGrant({ ...authentication, ...issuing, access: deps.access })],
        [
          tokenExchangeGrantType,
          createTokenExchangeGrant({
            ...authentication,
            ...issuing,
            audit: deps.audit,
            exchange: {
              catalog: deps.catalog,
              access: deps.access,
              verifyAccessToken: deps.verifyAccessToken,
              revocations: deps.revocations,
              maxChainDepth: deps.tokenExchangeMaxDepth,
            },
          }),
        ],
      ]),
      deps.metrics.tokenFastPath,
    ),
    createIntrospectionFastPath({
      ...authentication,
      jwtEndpoints: deps.jwtEndpoints,
      phantomTokens: deps.phantomTokens,
      fastPathRequests: deps.metrics.tokenFastPath,
    }),
  ];
}

/** The front door: what every request passes through, in the order the header comment gives. */
export function createFrontDoor(deps: AppDeps): Middleware {
  const ownRoutes = createOwnRoutes(deps);
  return compose([
    createHostPin(deps.issuer),
    createHttpMetrics(deps.metrics),
    createAccessLog(deps.log),
    createErrorHandler(deps.log),
    setSecurityHeaders,
    createTokenRateLimit(deps.throttles, (limit) => deps.metrics.throttled.inc({ limit })),
    createDpopGate(deps.takeDpopProof),
    ...createFastPaths(deps),
    ownRoutes,
  ] as Middleware[]);
}
