// The servers under test, each a child process on a free loopback port:
// - Portcullis on real Postgres (a fresh database) + Redis (a fresh key prefix), the compiled
//   build (`node dist/main.js`) unless told to run the sources through tsx;
// - Portcullis on its embedded default (PGlite in a temp DATA_DIR, no Redis), with --embedded;
// - the bare oidc-provider baseline (bench/baseline/server.ts).
// Portcullis gets the fixtures through its admin API, the baseline as static configuration.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { BaselineConfig } from '../baseline/server.js';
import { apis, basicAuth, clientIds, clientMetadata, type AssertionKey, userCount, userPassword, username } from './fixtures.js';
import { createHttpClient, postJson, type HttpClient } from './http.js';
import { spawnServer, waitUntil, type ChildServer } from './proc.js';
import { createDatabase, type BenchDatabase } from './stores.js';

export type TargetId = 'portcullis' | 'portcullis-embedded' | 'baseline';

export interface Target {
  readonly id: TargetId;
  readonly label: string;
  readonly kind: 'portcullis' | 'baseline';
  readonly issuer: string;
  readonly server: ChildServer;
  /** Server processes serving requests. */
  readonly workers: number;
  /** Client secrets by client_id (secret-based clients only). */
  readonly secrets: Readonly<Record<string, string>>;
  /** Redis and Postgres processes serving this target, for CPU accounting. */
  readonly storePids?: () => Promise<number[]>;
  readonly database?: BenchDatabase;
  readonly redisPrefix?: string;
  /** The CPU profile directory when started with --cpu-prof. */
  readonly profileDir?: string;
}

export interface StartOptions {
  repoRoot: string;
  workDir: string;
  profile: boolean;
  workers: number;
  /** Extra environment for Portcullis (--env NAME=VALUE). */
  serverEnv: Record<string, string>;
  key: AssertionKey;
  /** Called with every database created, before anything can fail, so it is dropped at the end. */
  ownDatabase(database: BenchDatabase): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Environment for a child: ours, without anything that would point it at other stores. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(DATABASE_URL|REDIS_URL|REDIS_KEY_PREFIX|DATA_DIR|KEYS_DIR|ISSUER|PORT|HOST|COOKIE_KEYS|BOOTSTRAP_ADMIN_|WORKERS$|TOKEN_REQUESTS_|ADMIN_REQUESTS_|LOGIN_MAX_|LOGIN_LOCK_|NODE_OPTIONS$|NODE_ENV$|LOG_LEVEL$|UV_THREADPOOL_SIZE$)/.test(name)) {
      delete env[name];
    }
  }
  return { ...env, ...extra };
}

function nodeArgs(profileDir: string | undefined): string[] {
  return profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
}

/**
 * How `npm start` runs Portcullis (package.json): the environment assignments before `node` and
 * the Node flags, so the bench runs it the same way.
 */
export function startScript(repoRoot: string): { env: Record<string, string>; nodeFlags: string[] } {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const words = (pkg.scripts?.start ?? '').split(/\s+/);
  const env: Record<string, string> = {};
  while (words[0] && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [name, ...value] = words.shift()!.split('=');
    env[name!] = value.join('=');
  }
  if (words[0] !== 'node') throw new Error(`package.json "start" must run node, not: ${pkg.scripts?.start}`);
  return { env, nodeFlags: words.slice(1).filter((word) => word.startsWith('--')) };
}

async function adminRequest(http: HttpClient, issuer: string, token: string, method: string, pathname: string, body?: unknown) {
  const response = await http.request(`${issuer}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status < 200 || response.status > 299) throw new Error(`admin ${method} ${pathname}: ${response.status} ${response.body.slice(0, 300)}`);
  return response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {};
}

/** APIs, clients (with their secrets) and users, through the admin API. */
async function registerFixtures(issuer: string, admin: { id: string; secret: string }, key: AssertionKey): Promise<Record<string, string>> {
  const http = createHttpClient({ maxSockets: 8 });
  try {
    const token = String(
      (await postJson(http, `${issuer}/token`, { grant_type: 'client_credentials', scope: 'admin' }, { authorization: basicAuth(admin.id, admin.secret) }))
        .access_token,
    );
    const call = (method: string, pathname: string, body?: unknown) => adminRequest(http, issuer, token, method, pathname, body);
    const resourceBody = (api: (typeof apis)[keyof typeof apis]) => ({
      scopes: api.scopes,
      access_token_ttl: api.ttl,
      access_token_format: api.format,
    });
    // APIs first (a client may only hold scopes an API defines), then the clients, then the
    // link from API A to the client acting for it.
    for (const api of Object.values(apis)) await call('POST', '/admin/resources', { identifier: api.identifier, ...resourceBody(api) });
    const secrets: Record<string, string> = {};
    for (const metadata of Object.values(clientMetadata(key))) {
      const created = await call('POST', '/admin/clients', metadata);
      if (typeof created.client_secret === 'string') secrets[String(created.client_id)] = created.client_secret;
    }
    for (const api of Object.values(apis)) {
      if ('actingClient' in api) {
        await call('PUT', `/admin/resources/${encodeURIComponent(api.identifier)}`, { ...resourceBody(api), client_id: api.actingClient });
      }
    }
    // Users one after another: each costs an argon2 hash on the server.
    for (let index = 0; index < userCount; index += 1) {
      await call('POST', '/admin/users', { username: username(index), password: userPassword });
    }
    return secrets;
  } finally {
    http.close();
  }
}

async function waitForHttp(server: ChildServer, url: string): Promise<void> {
  const http = createHttpClient({ maxSockets: 1, timeoutMs: 2_000 });
  try {
    await waitUntil(`${server.name} at ${url}`, async () => (await http.request(url)).status === 200, {
      timeoutMs: 90_000,
      exited: server.exited,
      describeFailure: () => server.tail(30),
    });
  } finally {
    http.close();
  }
}

export async function startPortcullis(
  options: StartOptions & { stores: 'real' | 'embedded'; pgAdminUrl: string; redisUrl: string; redisPrefix: string; useTsx: boolean; redisPid?: number },
): Promise<Target> {
  const id: TargetId = options.stores === 'real' ? 'portcullis' : 'portcullis-embedded';
  // The embedded database belongs to one process (src/config: WORKERS).
  const workers = options.stores === 'real' ? options.workers : 1;
  const dir = path.join(options.workDir, id);
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const admin = { id: 'bench-admin', secret: crypto.randomBytes(32).toString('base64url') };
  const database = options.stores === 'real' ? await createDatabase(options.pgAdminUrl) : undefined;
  if (database) options.ownDatabase(database);
  const profileDir = options.profile ? path.join(dir, 'cpu-profile') : undefined;
  const start = startScript(options.repoRoot);
  const env = childEnv({
    ...start.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    KEYS_DIR: path.join(dir, 'keys'),
    DATA_DIR: path.join(dir, 'data'),
    // info: client errors and server errors are logged, successful requests are not.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    // Explicit: on Postgres Portcullis would otherwise start one worker per core.
    WORKERS: String(workers),
    // All load comes from one address and mostly one client, which the per-instance token
    // endpoint rates (default 20,000 per IP and 10,000 per client per 10 s) would throttle.
    // Raised to the highest allowed value rather than 0, so the limiter still runs and is paid for.
    TOKEN_REQUESTS_PER_IP: '10000000',
    TOKEN_REQUESTS_PER_CLIENT: '10000000',
    ...options.serverEnv,
    BOOTSTRAP_ADMIN_CLIENT_ID: admin.id,
    BOOTSTRAP_ADMIN_CLIENT_SECRET: admin.secret,
    ...(database ? { DATABASE_URL: database.url, REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: options.redisPrefix } : {}),
  });
  const entry = [...start.nodeFlags, ...(options.useTsx ? ['--import', 'tsx', 'src/main.ts'] : ['dist/main.js'])];
  const server = spawnServer({
    name: id,
    command: process.execPath,
    args: [...nodeArgs(profileDir), ...entry],
    env,
    cwd: options.repoRoot,
    logFile: path.join(dir, 'server.log'),
  });
  await waitForHttp(server, `${issuer}/readyz`);
  const secrets = await registerFixtures(issuer, admin, options.key);
  const storePids = database
    ? async () => {
        const { Client } = (await import('pg')).default;
        const client = new Client({ connectionString: database.url });
        await client.connect();
        try {
          const rows = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
            database.name,
          ]);
          return [...rows.rows.map((row) => row.pid), ...(options.redisPid ? [options.redisPid] : [])];
        } finally {
          await client.end();
        }
      }
    : undefined;
  return {
    id,
    label: options.stores === 'real' ? 'Portcullis (Postgres + Redis)' : 'Portcullis (embedded PGlite)',
    kind: 'portcullis',
    issuer,
    server,
    workers,
    secrets,
    ...(storePids ? { storePids } : {}),
    ...(database ? { database, redisPrefix: options.redisPrefix } : {}),
    ...(profileDir ? { profileDir } : {}),
  };
}

export async function startBaseline(options: StartOptions): Promise<Target> {
  const dir = path.join(options.workDir, 'baseline');
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const profileDir = options.profile ? path.join(dir, 'cpu-profile') : undefined;
  const metadata = clientMetadata(options.key);
  const secrets = {
    [clientIds.secret]: crypto.randomBytes(32).toString('base64url'),
    [clientIds.web]: crypto.randomBytes(32).toString('base64url'),
  };
  const service = { response_types: [], redirect_uris: [] };
  const config: BaselineConfig = {
    workers: options.workers,
    host: '127.0.0.1',
    port,
    issuer,
    apis: Object.values(apis).map(({ identifier, scopes, ttl, format }) => ({ identifier, scopes, ttl, format })),
    // No token exchange upstream, so no exchanging client.
    clients: [
      { ...metadata.secret, ...service, client_secret: secrets[clientIds.secret] },
      { ...metadata.pkjwt, ...service },
      { ...metadata.web, client_secret: secrets[clientIds.web] },
    ] as BaselineConfig['clients'],
  };
  const server = spawnServer({
    name: 'baseline',
    command: process.execPath,
    args: [...nodeArgs(profileDir), path.join('bench', 'baseline', 'server.ts')],
    env: childEnv({ BENCH_BASELINE_CONFIG: JSON.stringify(config) }),
    cwd: options.repoRoot,
    logFile: path.join(dir, 'server.log'),
  });
  await waitForHttp(server, `${issuer}/.well-known/openid-configuration`);
  return {
    id: 'baseline',
    label: 'oidc-provider baseline (in-memory)',
    kind: 'baseline',
    issuer,
    server,
    workers: options.workers,
    secrets,
    ...(profileDir ? { profileDir } : {}),
  };
}
