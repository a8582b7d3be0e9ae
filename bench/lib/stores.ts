// The real stores for a benchmark run: a fresh Postgres database (created here, dropped at the
// end) and a fresh Redis key prefix (every key under it deleted at the end), plus the numbers
// the report takes from them (database size, Redis MEMORY USAGE of sampled keys).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  sizeBytes(): Promise<number>;
  /** Transactions committed or rolled back in this database so far (pg_stat_database). */
  transactions(): Promise<number>;
  drop(): Promise<void>;
}

/** A fresh, empty database on the server `adminUrl` points at (Portcullis migrates it itself). */
export async function createDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `portcullis_bench_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async sizeBytes() {
      return withClient(adminUrl, async (client) => {
        const result = await client.query<{ size: string }>('SELECT pg_database_size($1)::text AS size', [name]);
        return Number(result.rows[0]?.size ?? 0);
      });
    },
    async transactions() {
      return withClient(adminUrl, async (client) => {
        const result = await client.query<{ n: string }>(
          'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1',
          [name],
        );
        return Number(result.rows[0]?.n ?? 0);
      });
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await withClient(adminUrl, async (client) => {
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
          name,
        ]);
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)}`);
      });
    },
  };
}

export async function postgresVersion(adminUrl: string): Promise<string> {
  return withClient(adminUrl, async (client) => (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?');
}

/** Table sizes (heap + indexes + TOAST) of one database, largest first. */
export async function tableSizes(databaseUrl: string): Promise<Record<string, number>> {
  return withClient(databaseUrl, async (client) => {
    const result = await client.query<{ name: string; size: string }>(
      `SELECT c.relname AS name, pg_total_relation_size(c.oid)::text AS size
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname = 'public'
        ORDER BY pg_total_relation_size(c.oid) DESC`,
    );
    return Object.fromEntries(result.rows.map((row) => [row.name, Number(row.size)]));
  });
}

/**
 * A prefix no other run uses, as long as Portcullis' default (`portcullis:`, 11 characters):
 * MEMORY USAGE counts the key name, so bytes per key then read as they would in production.
 */
export function uniqueRedisPrefix(): string {
  return `pb-${randomBytes(4).toString('hex').slice(0, 7)}:`;
}

function globEscape(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, '\\$&');
}

/** Every key matching `prefix` + `pattern`, found with SCAN; at most `limit` of them. */
export async function scanKeys(redis: Redis, prefix: string, pattern = '*', limit = Infinity): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${globEscape(prefix)}${pattern}`, 'COUNT', 1000);
    for (const key of batch) keys.add(key);
    cursor = next;
  } while (cursor !== '0' && keys.size < limit);
  return [...keys].slice(0, limit === Infinity ? undefined : limit);
}

export async function deletePrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    const keys = await scanKeys(redis, prefix);
    let deleted = 0;
    for (let start = 0; start < keys.length; start += 500) deleted += await redis.del(...keys.slice(start, start + 500));
    return deleted;
  } finally {
    redis.disconnect();
  }
}

export async function redisInfo(redisUrl: string): Promise<{ version: string; pid: number | undefined; maxmemoryPolicy: string }> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
    const policy = (await redis.config('GET', 'maxmemory-policy').catch(() => [])) as string[];
    return { version: field('redis_version') ?? '?', pid: Number(field('process_id')) || undefined, maxmemoryPolicy: policy[1] ?? '?' };
  } finally {
    redis.disconnect();
  }
}

