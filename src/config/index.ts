// The only reader of process.env. Parsed once at start, frozen, and a bad value stops the
// process with one line naming the variable (docs/DESIGN.md "Runtime contract").
import os from 'node:os';
import path from 'node:path';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly issuer: string;
  readonly production: boolean;
  readonly databaseUrl: string | undefined;
  /** Longest wait for Postgres (a connection, then each statement) on a request, in seconds. */
  readonly databaseQueryTimeout: number;
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
  readonly keysDir: string;
  readonly cookieKeys: readonly string[] | undefined;
  readonly bootstrapAdmin: { readonly clientId: string; readonly clientSecret: string | undefined } | undefined;
  readonly adminTokenTtl: number;
  readonly keyRotationDelay: number;
  readonly tokenExchangeMaxDepth: number;
  readonly clientAssertionMaxLifetime: number;
  readonly clientAssertionAcceptTokenEndpointAudience: boolean;
  /** Transaction Tokens' audience: the trust domain (TRUST_DOMAIN, default the issuer). */
  readonly trustDomain: string;
  /** Seconds a Transaction Token lives (TXN_TOKEN_LIFETIME, default 60, at most 300). */
  readonly txnTokenLifetime: number;
  /** How many times a Transaction Token may be replaced (TXN_TOKEN_MAX_REPLACEMENTS, default 3). */
  readonly txnTokenMaxReplacements: number;
  /** RFC 9449 §8: every DPoP proof must carry a server nonce (DPOP_REQUIRE_NONCE). */
  readonly dpopRequireNonce: boolean;
  readonly jwksUriAllowPrivate: boolean;
  readonly jwksUriMinRefetchInterval: number;
  readonly trustProxy: boolean;
  /**
   * With trustProxy: how many proxies append to X-Forwarded-For. The client address is the entry
   * this many places from the right; anything further left was written by the client itself.
   */
  readonly trustProxyHops: number;
  readonly logLevel: string;
  /** Server processes (node:cluster workers); 1 runs the server in this process. */
  readonly workers: number;
  readonly throttling: {
    readonly loginMaxFailures: number;
    readonly loginMaxFailuresPerIp: number;
    readonly loginLockSeconds: number;
    /** Wrong second-factor codes per user (15 min) before the second factor is locked. */
    readonly mfaMaxFailures: number;
    readonly tokenRequestsPerIp: number;
    readonly tokenRequestsPerClient: number;
    readonly adminRequestsPerIp: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function readPort(env: Env): number {
  const raw = read(env, 'PORT') ?? '3000';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 0 || port > 65535) {
    throw new ConfigError('PORT', `must be an integer from 0 to 65535, got "${raw}"`);
  }
  return port;
}

function readSeconds(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(name, `must be a whole number of seconds from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function readBoolean(env: Env, name: string): boolean {
  const raw = read(env, name) ?? 'false';
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(name, `must be "true" or "false", got "${raw}"`);
  return raw === 'true';
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

// OIDC Core §2 / RFC 8414 §2: the issuer is an https URL with no query or fragment; we allow
// http only for loopback hosts (development) or when not in production.
/** The trust domain Transaction Tokens are for (draft-ietf-oauth-transaction-tokens §4): a URI, no fragment. */
function readTrustDomain(env: Env, issuer: string): string {
  const value = read(env, 'TRUST_DOMAIN');
  if (value === undefined) return issuer;
  const url = URL.parse(value);
  if (!url || url.hash || !/^[a-z][a-z0-9+.-]*:/i.test(value)) throw new ConfigError('TRUST_DOMAIN', 'must be an absolute URI without a fragment');
  return value;
}

function readIssuer(env: Env, port: number, production: boolean): string {
  const raw = read(env, 'ISSUER') ?? `http://localhost:${port}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('ISSUER', `must be an absolute URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('ISSUER', `must use https (or http for localhost), got "${url.protocol}"`);
  }
  if (url.search || url.hash || raw.includes('#') || raw.includes('?')) {
    throw new ConfigError('ISSUER', 'must not contain a query or fragment');
  }
  if (production && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigError('ISSUER', 'must use https in production (http is only allowed for localhost)');
  }
  return raw.replace(/\/+$/, '');
}

function readUrl(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  for (const part of raw.split(',')) {
    let url: URL;
    try {
      url = new URL(part.trim());
    } catch {
      throw new ConfigError(name, 'must be a URL such as ' + `${protocols[0]}//host:port`);
    }
    if (!protocols.includes(url.protocol)) {
      throw new ConfigError(name, `must use ${protocols.join(' or ')}, got "${url.protocol}"`);
    }
  }
  return raw;
}

function readCookieKeys(env: Env): string[] | undefined {
  const raw = read(env, 'COOKIE_KEYS');
  if (raw === undefined) return undefined;
  const keys = raw.split(',').map((key) => key.trim());
  if (keys.some((key) => key.length < 32)) {
    throw new ConfigError('COOKIE_KEYS', 'each comma-separated key must be at least 32 characters');
  }
  return keys;
}

function readBootstrapAdmin(env: Env): Config['bootstrapAdmin'] {
  const clientId = read(env, 'BOOTSTRAP_ADMIN_CLIENT_ID');
  const clientSecret = read(env, 'BOOTSTRAP_ADMIN_CLIENT_SECRET');
  if (clientSecret !== undefined && clientId === undefined) {
    throw new ConfigError('BOOTSTRAP_ADMIN_CLIENT_ID', 'is required when BOOTSTRAP_ADMIN_CLIENT_SECRET is set');
  }
  if (clientId === undefined) return undefined;
  if (!/^[A-Za-z0-9._~-]{1,128}$/.test(clientId)) {
    throw new ConfigError('BOOTSTRAP_ADMIN_CLIENT_ID', 'must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -');
  }
  if (clientSecret !== undefined && clientSecret.length > 512) {
    throw new ConfigError('BOOTSTRAP_ADMIN_CLIENT_SECRET', 'must be at most 512 characters');
  }
  return Object.freeze({ clientId, clientSecret });
}

function readKeyPrefix(env: Env): string {
  const raw = read(env, 'REDIS_KEY_PREFIX') ?? 'portcullis:';
  if (!/^[A-Za-z0-9:_.{}-]{1,64}$/.test(raw)) {
    throw new ConfigError('REDIS_KEY_PREFIX', 'must be 1 to 64 characters of A-Z a-z 0-9 : _ . - { }');
  }
  return raw;
}

const logLevels = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function loadConfig(env: Env = process.env): Config {
  const production = read(env, 'NODE_ENV') === 'production';
  const port = readPort(env);
  const logLevel = read(env, 'LOG_LEVEL') ?? 'info';
  if (!logLevels.has(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${[...logLevels].join(', ')}`);
  }
  const issuer = readIssuer(env, port, production);
  return Object.freeze({
    port,
    host: read(env, 'HOST') ?? '0.0.0.0',
    issuer,
    trustDomain: readTrustDomain(env, issuer),
    txnTokenLifetime: readSeconds(env, 'TXN_TOKEN_LIFETIME', 60, 5, 300),
    txnTokenMaxReplacements: readInteger(env, 'TXN_TOKEN_MAX_REPLACEMENTS', 3, 0, 10),
    production,
    databaseUrl: readUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseQueryTimeout: readSeconds(env, 'DATABASE_QUERY_TIMEOUT', 3, 1, 60),
    dataDir: path.resolve(read(env, 'DATA_DIR') ?? './data'),
    redisUrl: readUrl(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: readKeyPrefix(env),
    keysDir: path.resolve(read(env, 'KEYS_DIR') ?? './keys'),
    cookieKeys: readCookieKeys(env),
    bootstrapAdmin: readBootstrapAdmin(env),
    adminTokenTtl: readSeconds(env, 'ADMIN_TOKEN_TTL', 300, 30, 3600),
    keyRotationDelay: readSeconds(env, 'KEY_ROTATION_DELAY', 600, 0, 86_400),
    tokenExchangeMaxDepth: readInteger(env, 'TOKEN_EXCHANGE_MAX_DEPTH', 5, 1, 20),
    clientAssertionMaxLifetime: readSeconds(env, 'CLIENT_ASSERTION_MAX_LIFETIME', 300, 10, 3600),
    clientAssertionAcceptTokenEndpointAudience: readBoolean(env, 'CLIENT_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD'),
    dpopRequireNonce: readBoolean(env, 'DPOP_REQUIRE_NONCE'),
    jwksUriAllowPrivate: readBoolean(env, 'JWKS_URI_ALLOW_PRIVATE'),
    jwksUriMinRefetchInterval: readSeconds(env, 'JWKS_URI_MIN_REFETCH_INTERVAL', 10, 1, 600),
    trustProxy: readBoolean(env, 'TRUST_PROXY'),
    trustProxyHops: readTrustProxyHops(env),
    logLevel,
    workers: readWorkers(env),
    throttling: Object.freeze({
      loginMaxFailures: readInteger(env, 'LOGIN_MAX_FAILURES', 5, 1, 1000),
      loginMaxFailuresPerIp: readInteger(env, 'LOGIN_MAX_FAILURES_PER_IP', 100, 1, 1_000_000),
      loginLockSeconds: readSeconds(env, 'LOGIN_LOCK_SECONDS', 900, 1, 86_400),
      mfaMaxFailures: readInteger(env, 'MFA_MAX_FAILURES', 5, 1, 100),
      // Requests per 10 s window, per instance; 0 turns the limit off.
      tokenRequestsPerIp: readInteger(env, 'TOKEN_REQUESTS_PER_IP', 20_000, 0, 10_000_000),
      tokenRequestsPerClient: readInteger(env, 'TOKEN_REQUESTS_PER_CLIENT', 10_000, 0, 10_000_000),
      adminRequestsPerIp: readInteger(env, 'ADMIN_REQUESTS_PER_IP', 1_000, 0, 10_000_000),
    }),
  });
}

// A hop count without TRUST_PROXY would be silently ignored: the operator believes the proxy's
// address is used while every client is seen as the proxy.
function readTrustProxyHops(env: Env): number {
  const hops = readInteger(env, 'TRUST_PROXY_HOPS', 1, 1, 10);
  if (read(env, 'TRUST_PROXY_HOPS') !== undefined && !readBoolean(env, 'TRUST_PROXY')) {
    throw new ConfigError('TRUST_PROXY_HOPS', 'only applies with TRUST_PROXY=true');
  }
  return hops;
}

// One process per core on Postgres; the embedded database is owned by a single process.
function readWorkers(env: Env): number {
  const embedded = read(env, 'DATABASE_URL') === undefined;
  const raw = read(env, 'WORKERS');
  if (raw === undefined) return embedded ? 1 : Math.max(1, os.availableParallelism());
  const workers = readInteger(env, 'WORKERS', 1, 1, 256);
  if (embedded && workers > 1) {
    throw new ConfigError('WORKERS', 'the embedded database belongs to one process: set DATABASE_URL to run several workers');
  }
  return workers;
}
