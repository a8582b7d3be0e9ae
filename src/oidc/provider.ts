// Assembles the oidc-provider instance: configuration from the modules in ./config, one concern
// each (unsafe library defaults are overridden there: docs/OIDC-PROVIDER-NOTES.md), and the hooks
// installed by the modules that own them.
import type { Middleware } from 'koa';
import Provider, { type Configuration } from 'oidc-provider';
import type { createClientAssertionCheck } from './config/client-assertions.js';
import { auditProviderEvents } from './audit-events.js';
import type { Metrics } from '../metrics/metrics.js';
import { interactionsConfiguration } from './config/interaction-policy.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Config } from '../config/index.js';
import type { Views } from '../http/views.js';
import type { SigningKey } from '../keys/keystore.js';
import type { Logger } from '../log.js';
import type { Database } from '../stores/database.js';
import type { EphemeralStore } from '../stores/ephemeral/types.js';
import { createAdapterFactory } from './adapter.js';
import { claims, createFindAccount, scopes } from './config/claims.js';
import { acrValuesSupported } from './authentication-requirements.js';
import { clientAuthMethods, enabledJWA } from './config/client-auth.js';
import { features } from './config/features.js';
import { ttl } from './config/ttl.js';
import { cookieConfiguration } from './config/cookie-signer.js';
import { createLoadExistingGrant } from './consent-memory.js';
import { applyProviderPatches, handleStructuredTokens, prepareLibraryStacks } from './internals.js';
import type { ResourceAccess } from '../tokens/resource-access.js';
import { answerLibraryFailures, createLibraryErrorPage } from './library-errors.js';
import { answerMissingClientAuthWith401, describeRefusedClientAssertions } from './client-auth-errors.js';
import { extraTokenClaims } from './config/extra-token-claims.js';
import { registerTokenExchange } from './grants/token-exchange.js';
import type { Audit } from '../audit/audit.js';
import { createJwtIntrospection, createJwtRevocation, type JwtEndpointDeps } from '../revocation/jwt-endpoints.js';
import { createPhantomIntrospection } from './phantom-introspection.js';
import type { PhantomTokenDeps } from '../tokens/phantom-token.js';
import type { SignJwt } from '../tokens/access-token-signer.js';
import type { JWK } from 'jose';
import type { VerifyAccessToken } from '../tokens/access-token-verifier.js';
import { countLibraryIssuedTokens } from '../tokens/issued-tokens.js';
import type { RevocationStore } from '../stores/revocations/types.js';
import { firstPartyMetadata } from './config/client-metadata-extra.js';
import { logoutPages } from './config/logout-pages.js';
import { createRefreshTokenRotation } from './config/refresh-step-up.js';

export interface ProviderDeps {
  config: Config;
  db: Database;
  store: EphemeralStore;
  catalog: Catalog;
  keys: { signingKeys: readonly SigningKey[]; cookieKeys: readonly string[]; dpopNonceSecret: Buffer };
  views: Views;
  log: Logger;
  revocations: RevocationStore;
  verifyAccessToken: VerifyAccessToken;
  audit: Audit;
  metrics: Metrics;
  /** Our own routes and the middleware every request passes through (app.ts), run first. */
  frontDoor: Middleware;
  /** Which APIs a client may reach, with which scopes (shared with the fast path). */
  access: ResourceAccess;
  /** Introspection and revocation of our JWTs, and who may (shared with the fast path). */
  jwtEndpoints: JwtEndpointDeps;
  /** Our private_key_jwt assertion policy (shared with the fast path). */
  checkClientAssertion: ReturnType<typeof createClientAssertionCheck>;
  /** The phantom-token trade at introspection (shared with the fast path). */
  phantomTokens: PhantomTokenDeps;
  /** Signs the JWTs we issue outside the library (Transaction Tokens). */
  signJwt: SignJwt;
  /** The public keys published now (key rotation changes them). */
  publishedKeys: () => readonly JWK[];
}

/** Seconds of clock skew tolerated between us and clients (the library's default is 15). */
export const clockTolerance = 5;

/** The library's fetch without its SSRF guard (the undici `dispatcher` it passes in the options). */
function allowPrivateAddresses(url: string | URL | Request, options?: RequestInit & { dispatcher?: unknown }): Promise<Response> {
  const { dispatcher: _ssrfGuard, ...rest } = options ?? {};
  return globalThis.fetch(url, rest);
}

/** The library's configuration, from the modules in ./config; every option is type-checked (no cast). */
function providerConfiguration(deps: ProviderDeps) {
  const { config, views } = deps;
  return {
    adapter: createAdapterFactory({ store: deps.store, catalog: deps.catalog, revocations: deps.revocations, clockTolerance }),
    extraTokenClaims,
    findAccount: createFindAccount(deps.catalog),
    jwks: { keys: deps.keys.signingKeys.map((key) => ({ ...key })) },
    cookies: cookieConfiguration(deps.keys.cookieKeys),
    claims,
    // acr_values_supported in discovery; authentication-requirements.ts honours acr_values.
    acrValues: [...acrValuesSupported],
    scopes,
    features: features(deps.access, deps.jwtEndpoints, logoutPages(views), {
      nonceSecret: deps.keys.dpopNonceSecret,
      requireNonce: config.dpopRequireNonce,
    }),
    loadExistingGrant: createLoadExistingGrant(deps.db),
    extraClientMetadata: firstPartyMetadata,
    clientAuthMethods,
    enabledJWA,
    assertJwtClientAuthClaimsAndHeader: deps.checkClientAssertion,
    // jwks_uri and other client URLs: the library's fetch refuses special-use addresses
    // (loopback, private, link-local) and times out after 2.5 s; JWKS_URI_ALLOW_PRIVATE lifts
    // the address check for development and tests.
    ...(config.jwksUriAllowPrivate ? { fetch: allowPrivateAddresses } : {}),
    fetchResponseBodyLimits: { jwks_uri: 64 * 1024, sector_identifier_uri: 64 * 1024, 'client_id metadata document': 5 * 1024 },
    responseTypes: ['code'],
    // PKCE (RFC 7636) with S256 for every client, public or confidential (RFC 9700 §2.1.1).
    pkce: { required: () => true },
    ttl,
    // Refresh tokens rotate on every use (RFC 9700 §4.14.2), and only while the sign-in they were
    // issued for still meets the client's and the user's requirements (refresh-step-up.ts).
    rotateRefreshToken: createRefreshTokenRotation({ catalog: deps.catalog, audit: deps.audit }),
    // Redirect URIs are always given and matched exactly (RFC 9700 §4.1.3).
    allowOmittingSingleRegisteredRedirectUri: false,
    clockTolerance,
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    // Browser (CORS) calls with a client: only public clients (SPAs) and userinfo, and only from
    // an origin of one of the client's redirect URIs; confidential clients call from servers.
    clientBasedCORS(ctx, origin, client) {
      if (origin === 'null') return false;
      if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
      return (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin);
    },
    interactions: interactionsConfiguration(deps.catalog),
    renderError: createLibraryErrorPage({ views }),
  } satisfies Configuration;
}

/**
 * Koa settings of the provider as an application. Koa reads the client address from
 * X-Forwarded-For only with `proxy`, and then takes the first of the last `maxIpsCount` entries
 * (koa/lib/request.js, `get ips` / `get ip`): the address our nearest trusted proxy saw, whatever
 * the client put in front of it. Every ctx.ip (throttles, audit) is read in this app: our
 * middleware runs inside it (app.ts). Koa's default error handler prints to stderr; ours logs
 * JSON and never echoes internals.
 */
function configureKoa(provider: Provider, config: Config, log: Logger): void {
  provider.proxy = config.trustProxy;
  provider.maxIpsCount = config.trustProxy ? config.trustProxyHops : 0;
  provider.silent = true;
  provider.on('error', (error) => log.error({ err: error }, 'koa error'));
}

/**
 * The only `new Provider()`: the configuration, then our middleware in front of the library's
 * routes, then the hooks, each installed by the module that owns it.
 */
export function createProvider(deps: ProviderDeps): Provider {
  const { config } = deps;
  prepareLibraryStacks();
  const provider = new Provider(config.issuer, providerConfiguration(deps));
  configureKoa(provider, config, deps.log);
  // First, so it wraps everything below, the library's routes included.
  provider.use(deps.frontDoor as Parameters<Provider['use']>[0]);
  applyProviderPatches(
    provider,
    { store: deps.store, catalog: deps.catalog },
    {
      jwksMinRefetchSeconds: config.jwksUriMinRefetchInterval,
      assertionTimes: { maxLifetime: config.clientAssertionMaxLifetime, clockTolerance },
    },
  );
  auditProviderEvents(provider, deps.audit);
  countLibraryIssuedTokens(provider, deps.metrics.tokensIssued);
  registerTokenExchange(provider, {
    provider,
    catalog: deps.catalog,
    access: deps.access,
    audit: deps.audit,
    revocations: deps.revocations,
    verifyAccessToken: deps.verifyAccessToken,
    maxChainDepth: config.tokenExchangeMaxDepth,
  }, {
    deps: {
      catalog: deps.catalog,
      issuer: config.issuer,
      trustDomain: config.trustDomain,
      lifetime: config.txnTokenLifetime,
      maxReplacements: config.txnTokenMaxReplacements,
      publishedKeys: deps.publishedKeys,
      clockTolerance,
    },
    signJwt: deps.signJwt,
  });
  const phantom = createPhantomIntrospection(deps.phantomTokens);
  const jwtIntrospection = createJwtIntrospection(deps.jwtEndpoints);
  handleStructuredTokens(provider, {
    revocation: createJwtRevocation(deps.jwtEndpoints),
    // The phantom trade first (it answers Accept: application/jwt only), then our JWTs.
    introspection: (ctx, next) => phantom(ctx, () => jwtIntrospection(ctx, next)),
  });
  answerLibraryFailures(provider, deps);
  answerMissingClientAuthWith401(provider);
  describeRefusedClientAssertions(provider, deps.checkClientAssertion);
  return provider;
}
