// The baseline of the side-by-side benchmark: a bare oidc-provider v9 with its own in-memory
// adapter, configured like Portcullis where the two can be alike (bench/README.md):
// - ES256 RFC 9068 JWT access tokens for each API (resource indicator), the API's TTL;
// - the same lifetimes (codes 60 s, refresh tokens 14 days rotated on every use, ...);
// - client_secret_basic and private_key_jwt (ES256) clients, client credentials, introspection,
//   revocation, PKCE S256 for everyone, an RS256 key for ID tokens;
// - devInteractions (the library's own login and consent pages, no password check) for the
//   login flow.
// There is no token exchange upstream, and upstream cannot introspect JWT access tokens
// (lib/shared/reject_structured_tokens.js), so the harness compares those against other numbers.
//
// Started by bench/run.ts as `node bench/baseline/server.ts` (Node's own type stripping, so no
// loader runs in the measured process); everything it needs comes in BENCH_BASELINE_CONFIG.
// With `workers` > 1 it is the primary of a node:cluster, as Portcullis with WORKERS: the
// workers share the keys but not the in-memory adapter, so only stateless scenarios (client
// credentials) are meaningful then. Single file, erasable TypeScript only.
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

interface BaselineApi {
  identifier: string;
  scopes: string[];
  ttl: number;
  format: 'jwt' | 'opaque';
}

export interface BaselineConfig {
  workers: number;
  host: string;
  port: number;
  issuer: string;
  apis: BaselineApi[];
  clients: ClientMetadata[];
}

const oidcScopes = ['openid', 'profile', 'email', 'offline_access'];

interface SharedSecrets {
  jwks: Record<string, unknown>[];
  cookieKeys: string[];
}

async function signingKeys(): Promise<Record<string, unknown>[]> {
  const keys: Record<string, unknown>[] = [];
  // RS256 first, as in Portcullis (ID tokens take the first key for the client's alg).
  for (const alg of ['RS256', 'ES256'] as const) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    keys.push({ ...(await exportJWK(privateKey)), alg, use: 'sig', kid: `baseline-${alg.toLowerCase()}` });
  }
  return keys;
}

function resourceIndicators(apis: Map<string, BaselineApi>) {
  return {
    enabled: true,
    // An explicit `resource` is always sent by the harness.
    async defaultResource(_ctx: KoaContextWithOIDC, _client: unknown, oneOf?: string[]) {
      return oneOf;
    },
    async getResourceServerInfo(_ctx: KoaContextWithOIDC, identifier: string) {
      const api = apis.get(identifier);
      if (!api) throw new errors.InvalidTarget('unknown resource');
      return {
        audience: api.identifier,
        scope: api.scopes.join(' '),
        accessTokenTTL: api.ttl,
        accessTokenFormat: api.format,
        ...(api.format === 'jwt' ? { jwt: { sign: { alg: 'ES256' } } } : {}),
      };
    },
    // As Portcullis: in OpenID Connect flows a code or refresh token yields an API token only
    // when the API is named again.
    async useGrantedResource(_ctx: KoaContextWithOIDC, model: { scopes: Set<string> }) {
      return !model.scopes.has('openid');
    },
  };
}

type TokenWithResource = { resourceServer?: { accessTokenTTL?: number } };
const accessTokenTtl = (_ctx: KoaContextWithOIDC, token: TokenWithResource) => token.resourceServer?.accessTokenTTL ?? 600;

export async function startBaseline(config: BaselineConfig, secrets: SharedSecrets): Promise<http.Server> {
  const apis = new Map(config.apis.map((api) => [api.identifier, api]));
  const apiScopes = config.apis.flatMap((api) => api.scopes);
  const asymmetric = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'Ed25519', 'EdDSA'];
  const configuration = {
    clients: config.clients,
    jwks: { keys: secrets.jwks },
    cookies: {
      keys: secrets.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    scopes: [...oidcScopes, ...apiScopes],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
      email: ['email', 'email_verified'],
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: resourceIndicators(apis),
      rpInitiatedLogout: { enabled: true },
      userinfo: { enabled: true },
      registration: { enabled: false },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      // Its own DPoP, for cc-dpop (RFC 9449): proofs checked and their jti kept in its adapter.
      dPoP: { enabled: true },
    },
    clientAuthMethods: ['private_key_jwt', 'client_secret_basic', 'client_secret_post', 'none'],
    enabledJWA: {
      clientAuthSigningAlgValues: asymmetric,
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      requestObjectSigningAlgValues: asymmetric,
      userinfoSigningAlgValues: ['RS256', 'ES256'],
      introspectionSigningAlgValues: ['RS256', 'ES256'],
      authorizationSigningAlgValues: ['RS256', 'ES256'],
      dPoPSigningAlgValues: ['ES256', 'PS256', 'Ed25519', 'EdDSA'],
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      Interaction: 60 * 60,
      Session: 14 * 24 * 60 * 60,
      Grant: 14 * 24 * 60 * 60,
      RefreshToken: 14 * 24 * 60 * 60,
      DeviceCode: 10 * 60,
      BackchannelAuthenticationRequest: 10 * 60,
    },
    rotateRefreshToken: true,
    allowOmittingSingleRegisteredRedirectUri: false,
    clockTolerance: 5,
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  } as unknown as Configuration;

  const provider = new Provider(config.issuer, configuration);
  const handle = provider.callback();
  const server = http.createServer((request, response) => void handle(request, response));
  // The same socket limits as Portcullis (src/server.ts).
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  return server;
}

function exitWhenStopped(stop: () => void): void {
  // A clean exit, so `--cpu-prof` writes its profile.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(): Promise<void> {
  const raw = process.env.BENCH_BASELINE_CONFIG;
  if (!raw) {
    process.stderr.write('baseline: BENCH_BASELINE_CONFIG is required (bench/run.ts sets it)\n');
    process.exit(2);
  }
  const config = JSON.parse(raw) as BaselineConfig;
  if (cluster.isPrimary && config.workers > 1) {
    const secrets: SharedSecrets = { jwks: await signingKeys(), cookieKeys: [crypto.randomBytes(32).toString('base64url')] };
    for (let index = 0; index < config.workers; index += 1) cluster.fork({ BENCH_BASELINE_SECRETS: JSON.stringify(secrets) });
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
    exitWhenStopped(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
      setTimeout(() => process.exit(0), 5_000).unref();
    });
    return;
  }
  const shared = process.env.BENCH_BASELINE_SECRETS;
  const secrets: SharedSecrets = shared
    ? (JSON.parse(shared) as SharedSecrets)
    : { jwks: await signingKeys(), cookieKeys: [crypto.randomBytes(32).toString('base64url')] };
  const server = await startBaseline(config, secrets);
  process.stdout.write(`baseline listening on port ${(server.address() as AddressInfo).port} (pid ${process.pid})\n`);
  exitWhenStopped(() => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 2_000).unref();
  });
}

await main();
