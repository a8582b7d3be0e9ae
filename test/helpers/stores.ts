// Throwaway databases and Redis key spaces for tests against the real servers. Each helper hands
// back its own clean-up, so a test leaves nothing behind and the process can exit.
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/stores/database.js';
import { migrate } from '../../src/stores/migrate.js';

const runFile = promisify(execFile);

async function withAdminClient<T>(serverUrl: string | undefined, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  if (!serverUrl) throw new Error('DATABASE_URL must name a Postgres server for this test');
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, empty database (not migrated) on the DATABASE_URL server, or on the server serverUrl
 * names (a test that needs a real Postgres whichever store set-up the suite runs on).
 */
export async function createPostgresDatabase(
  serverUrl: string | undefined = process.env.DATABASE_URL,
): Promise<{ url: string; drop(): Promise<void> }> {
  // Lower-case hex only, so the name needs no quoting rules beyond escapeIdentifier.
  const name = `portcullis_test_${randomBytes(8).toString('hex')}`;
  await withAdminClient(serverUrl, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  const url = new URL(serverUrl as string);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await withAdminClient(serverUrl, async (client) => {
        // A pool that was not closed (a failed test) would otherwise make DROP DATABASE fail.
        await client.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)}`);
      });
    },
  };
}

/** A migrated PGlite database in its own temp directory, removed on close. */
export async function createPgliteDatabase(): Promise<{ db: Database; dir: string; close(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-test-'));
  try {
    const db = await openDatabase({ dataDir: path.join(dir, 'pgdata') });
    await migrate(db);
    return {
      db,
      dir,
      async close() {
        await db.close();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await fs.rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A key prefix no other test run uses. */
export function uniqueRedisPrefix(): string {
  return `portcullis-test:${randomUUID()}:`;
}

/** Every key under prefix, found with SCAN (KEYS would block the server). */
export async function scanRedisKeys(redis: Redis, prefix: string): Promise<string[]> {
  // Escape glob metacharacters so the prefix matches literally.
  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  // SCAN may return a key more than once.
  return [...new Set(keys)];
}

/** Deletes every key under prefix; returns how many were deleted. */
export async function deleteRedisKeys(redis: Redis, prefix: string): Promise<number> {
  const keys = await scanRedisKeys(redis, prefix);
  let deleted = 0;
  for (let start = 0; start < keys.length; start += 500) {
    deleted += await redis.del(...keys.slice(start, start + 500));
  }
  return deleted;
}

/**
 * A TCP forwarder to target that a test can take down (stop) and bring back (start it again on
 * the same port), to put a real client through a server outage; or freeze, to put it through a
 * hung server or network: connections stay open (new ones are accepted) but no byte passes in
 * either direction until thaw, when everything held back is delivered.
 */
export async function startTcpProxy(
  target: { host: string; port: number },
  port = 0,
): Promise<{ port: number; stop(): Promise<void>; freeze(): void; thaw(): void }> {
  const sockets = new Set<net.Socket>();
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let frozen = false;
  const link = ({ client, upstream }: { client: net.Socket; upstream: net.Socket }) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const hold = ({ client, upstream }: { client: net.Socket; upstream: net.Socket }) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    // Paused sockets leave what arrives in the kernel's buffers: nothing is read or lost.
    client.pause();
    upstream.pause();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream };
    const drop = () => {
      pairs.delete(pair);
      for (const socket of [client, upstream]) {
        socket.destroy();
        sockets.delete(socket);
      }
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', drop).on('close', drop);
    }
    pairs.add(pair);
    if (frozen) hold(pair);
    else link(pair);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    freeze() {
      frozen = true;
      for (const pair of pairs) hold(pair);
    },
    thaw() {
      frozen = false;
      for (const pair of pairs) link(pair);
    },
  };
}

/** Runs redis-cli against the server on `port`; its output, trimmed. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  return (await runFile('redis-cli', ['-p', String(port), ...args])).stdout.trim();
}

export interface TestRedisServer {
  readonly port: number;
  /** The redis-server process (for SIGSTOP / SIGCONT). */
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own on `port`, keeping nothing on disk (`--save ''`, no AOF): once
 * stopped, what it held is gone, as with a Redis restarted without persistence. `dir` is its
 * working directory. stop() kills it (SIGKILL: no chance to save) and waits for it to exit.
 */
export async function startRedisServer(port: number, dir: string): Promise<TestRedisServer> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const ready = await redisCli(port, 'ping').then(
      (out) => out.includes('PONG'),
      () => false,
    );
    if (ready) return { port, pid: child.pid!, stop };
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  await stop();
  throw new Error(`redis-server did not start on port ${port}`);
}
