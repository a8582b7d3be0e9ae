// Composition root: open stores, migrate, load keys, build the provider and the app, listen,
// and shut down cleanly. main.ts calls it with the process's config; tests call it directly.
import { createFrontDoor } from './app.js';
import { createAudit } from './audit/audit.js';
import { createThrottles } from './throttle/throttles.js';
import { childrenOf, createMetrics } from './metrics/metrics.js';
import { createTotp } from './mfa/totp.js';
import { createSecretBox } from './mfa/secret-box.js';
import { instrumentStore } from './metrics/instrument-stores.js';
import { bootstrapAdminClient } from './bootstrap.js';
import { createCatalog } from './catalog/catalog.js';
import type { Config } from './config/index.js';
import { listen } from './http/listen.js';
import { createViews } from './http/views.js';
import { createKeyRing } from './keys/key-ring.js';
import { loadKeyMaterial } from './keys/keystore.js';
import { holdProvider } from './oidc/provider-holder.js';
import type { Logger } from './log.js';
import { clockTolerance, createProvider } from './oidc/provider.js';
import { createClientAssertionCheck } from './oidc/config/client-assertions.js';
import { createResourceAccess } from './tokens/resource-access.js';
import { createDpopProofs } from './tokens/dpop-proofs.js';
import { dpopNonceSource } from './oidc/internals.js';
import { createTokenAccessPolicy } from './oidc/token-access-policy.js';
import type { JwtEndpointDeps } from './revocation/jwt-endpoints.js';
import { createAccessTokenVerifier } from './tokens/access-token-verifier.js';
import { createAccessTokenSigner, createJwtSigner } from './tokens/access-token-signer.js';
import { createFeedHub } from './revocation/feed-hub.js';
import { openRevocations } from './revocation/revocations.js';
import { rateLimited } from './rate-limited.js';
import { openDatabase } from './stores/database.js';
import { openShortLivedStores } from './stores/short-lived.js';
import { migrate } from './stores/migrate.js';
import { findUsersWithoutUsernameKey } from './stores/username-keys.js';
import { StartupError, describeConnectionError, describeFileError } from './startup-error.js';

/** Turns a failure to reach the database at start into one naming DATABASE_URL (or DATA_DIR). */
function databaseStartupError(config: Config): (error: unknown) => never {
  return (error) => {
    if (error instanceof StartupError) throw error;
    if (!config.databaseUrl) {
      throw new StartupError('DATA_DIR', `the embedded database cannot open: ${describeFileError(error)}`, { retryable: false, cause: error });
    }
    const { problem, retryable } = describeConnectionError(error);
    throw new StartupError('DATABASE_URL', problem, { retryable, cause: error });
  };
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const cleanups: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  const closeAll = (): Promise<void> =>
    (closing ??= (async () => {
      for (const cleanup of cleanups.reverse()) {
        await cleanup().catch((error: unknown) => log.error({ err: error }, 'close failed'));
      }
    })());
  try {
    const db = await openDatabase(config).catch(databaseStartupError(config));
    cleanups.push(() => db.close());
    // The pool connects lazily: migrating is the first query, so a bad DATABASE_URL fails here.
    const applied = await migrate(db).catch(databaseStartupError(config));
    if (applied.length) log.info({ migrations: applied }, 'applied migrations');
    for (const user of await findUsersWithoutUsernameKey(db)) log.warn(user, 'this username normalises like an older account\'s: the account cannot sign in until renamed (PUT /admin/users/{sub})');

    const stores = openShortLivedStores({
      redisUrl: config.redisUrl,
      keyPrefix: config.redisKeyPrefix,
      db,
      // Each reconnect attempt fails while Redis is away: one line every few seconds, not one per attempt.
      onRedisError: rateLimited((error: Error, suppressed: number) => log.warn({ err: error.message, suppressed }, 'redis connection problem'), 5_000),
    });
    cleanups.push(() => stores.close());
    for (const warning of await stores.configurationWarnings()) log.warn(warning);
    const metrics = createMetrics();
    const store = instrumentStore(stores.ephemeral, stores.ephemeral.kind === 'redis' ? 'redis' : 'postgres', metrics);
    const cacheLookupsOf = childrenOf((labels) => metrics.cacheLookups.labels(labels));
    const catalog = await createCatalog(db, (cache, hit) => {
      const result = hit ? 'hit' : 'miss';
      cacheLookupsOf(`${cache} ${result}`, () => ({ cache, result })).inc();
    });
    cleanups.push(() => catalog.close());
    const keys = await loadKeyMaterial(config);
    const keyRing = await createKeyRing({ keysDir: config.keysDir, db, log });
    cleanups.push(() => keyRing.close());
    await bootstrapAdminClient({ db, config, log });

    const views = createViews();
    const verifyAccessToken = createAccessTokenVerifier({
      issuer: config.issuer,
      publishedKeys: () => keyRing.current().published,
      clockTolerance,
    });
    const recordedRevocations = await openRevocations({
      db,
      redis: stores.redis && { connection: stores.redis, keyPrefix: config.redisKeyPrefix },
      log,
    });
    cleanups.push(() => recordedRevocations.close());
    const revocations = instrumentStore(recordedRevocations, 'revocations', metrics);
    const feedHub = await createFeedHub(db);
    cleanups.push(() => feedHub.close());
    const audit = createAudit({
      db,
      log,
      onEvent: (event) => {
        if (event.type.startsWith('login_')) metrics.logins.inc({ outcome: event.type.slice('login_'.length) });
      },
    });
    const throttles = await createThrottles(config, { log }).catch(databaseStartupError(config));
    cleanups.push(() => throttles.close());
    // One scope policy and one client-assertion policy for the library and the fast path.
    const access = createResourceAccess({ catalog, issuer: config.issuer, builtinTokenTtl: config.adminTokenTtl });
    const checkClientAssertion = createClientAssertionCheck({
      issuer: config.issuer,
      tokenEndpoint: `${config.issuer}/token`,
      acceptTokenEndpointAudience: config.clientAssertionAcceptTokenEndpointAudience,
      maxLifetime: config.clientAssertionMaxLifetime,
      clockTolerance,
    });
    const jwtEndpoints: JwtEndpointDeps = { verifyAccessToken, revocations, audit, ...createTokenAccessPolicy(catalog) };
    // One access-token signer for every path that signs outside the library (fast paths, phantom trade).
    const signJwt = createJwtSigner(keyRing);
    const phantomTokens = { issuer: config.issuer, access, signAccessToken: createAccessTokenSigner(signJwt), verifyAccessToken, revocations };
    // One replay store and one nonce secret for every DPoP proof, on every instance (RFC 9449 §11.1, §8).
    const takeDpopProof = createDpopProofs({
      store,
      nonces: { ...dpopNonceSource(keys.dpopNonceSecret), required: config.dpopRequireNonce },
      clockTolerance,
    });
    const frontDoor = createFrontDoor({
      takeDpopProof,
      phantomTokens,
      tokenExchangeMaxDepth: config.tokenExchangeMaxDepth,
      access,
      jwtEndpoints,
      checkClientAssertion,
      keyRing,
      keyRotationDelay: config.keyRotationDelay,
      cookieKeys: keys.cookieKeys,
      throttles,
      audit,
      metrics,
      totp: createTotp({ db, box: createSecretBox(keys.dataKey), issuerName: new URL(config.issuer).host }),
      store,
      log,
      views,
      db,
      catalog,
      issuer: config.issuer,
      revocations,
      verifyAccessToken,
      feedHub,
    });
    const providers = holdProvider(
      (phase) =>
        createProvider({
          config,
          db,
          store,
          catalog,
          keys: { signingKeys: phase.providerKeys, cookieKeys: keys.cookieKeys, dpopNonceSecret: keys.dpopNonceSecret },
          views,
          log,
          revocations,
          verifyAccessToken,
          audit,
          metrics,
          frontDoor,
          access,
          jwtEndpoints,
          checkClientAssertion,
          phantomTokens,
          signJwt,
          publishedKeys: () => keyRing.current().published,
        }),
      keyRing,
    );

    const listening = await listen((req, res) => void providers.handle(req, res), {
      host: config.host,
      port: config.port,
      beforeClose: () => void feedHub.close(),
    });
    cleanups.push(() => listening.close());
    const { port } = listening;
    log.info(
      { issuer: config.issuer, port, database: db.kind, ephemeral: store.kind },
      `Portcullis listening on port ${port}`,
    );
    return { url: `http://127.0.0.1:${port}`, port, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
