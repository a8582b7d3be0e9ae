// Boots the real server in this process on a free port. The stores follow the environment the
// suite runs in: with DATABASE_URL and REDIS_URL set, a fresh database on that Postgres server
// and a fresh Redis key prefix; otherwise the embedded default (PGlite in a temp dir, ephemeral
// records in Postgres). Every resource is removed by `cleanup()`.
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { createRedisClient } from '../../src/stores/redis-client.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createPostgresDatabase, deleteRedisKeys, uniqueRedisPrefix } from './stores.js';

export const realStores = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
export const storesLabel = realStores ? 'Postgres + Redis' : 'embedded PGlite';

export const adminClientId = 'test-admin';
export const adminClientSecret = 'test-admin-secret-0123456789abcdefghijklmnop';

/**
 * The environment for a child process of ours (a server, the CLI, a README block): only what a
 * Node process needs, so DATABASE_URL, REDIS_URL and the like never leak in from the suite's.
 */
export function childProcessEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
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

export interface TestEnvironment {
  /** Environment variables for a server on these stores (without PORT / ISSUER). */
  readonly env: Record<string, string>;
  /** Starts a server on these stores; every server started is closed by cleanup(). */
  start(extraEnv?: Record<string, string>): Promise<TestServer>;
  cleanup(): Promise<void>;
}

export interface TestServer extends RunningServer {
  readonly issuer: string;
  readonly config: Config;
}

export async function createTestEnvironment(): Promise<TestEnvironment> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-test-'));
  const env: Record<string, string> = {
    KEYS_DIR: path.join(dir, 'keys'),
    DATA_DIR: path.join(dir, 'data'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    BOOTSTRAP_ADMIN_CLIENT_ID: adminClientId,
    BOOTSTRAP_ADMIN_CLIENT_SECRET: adminClientSecret,
  };
  const cleanups: (() => Promise<unknown>)[] = [() => fs.rm(dir, { recursive: true, force: true })];
  if (realStores) {
    const database = await createPostgresDatabase();
    cleanups.push(() => database.drop());
    const prefix = uniqueRedisPrefix();
    cleanups.push(async () => {
      // REDIS_URL may name a cluster (several seeds): the server's own way to connect.
      const redis = createRedisClient(process.env.REDIS_URL as string);
      try {
        await deleteRedisKeys(redis as Redis, prefix);
      } finally {
        redis.disconnect();
      }
    });
    Object.assign(env, { DATABASE_URL: database.url, REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: prefix });
  }

  const servers: RunningServer[] = [];
  return {
    env,
    async start(extraEnv = {}) {
      const port = await freePort();
      const issuer = `http://127.0.0.1:${port}`;
      const config = loadConfig({ ...env, PORT: String(port), ISSUER: issuer, HOST: '127.0.0.1', ...extraEnv });
      const server = await startServer(config, createLogger(config.logLevel));
      servers.push(server);
      return { ...server, issuer, config, url: issuer };
    },
    async cleanup() {
      for (const server of servers.splice(0)) await server.close();
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}
