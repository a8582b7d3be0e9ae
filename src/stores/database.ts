// One small query interface over pg.Pool (DATABASE_URL) and PGlite (the embedded default).
// Everything above src/stores talks to this, so the same SQL runs on both.
import fs from 'node:fs/promises';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { assertStorableParams } from './text.js';

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** LISTEN on a channel; the returned function stops listening. */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

// BIGINT and NUMERIC arrive as strings from pg; our counters fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === '23505';
}

/** Payload delivered to listeners after a reconnect: messages may have been missed meanwhile. */
export const missedMessages = '*';

// LISTEN needs a dedicated session. If it drops (Postgres restart, network), reconnect with
// backoff and tell the listener that it may have missed messages, so caches can be flushed.
async function listenWithReconnect(
  connectionString: string,
  channel: string,
  onMessage: (payload: string) => void,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString });
    next.on('notification', (message) => {
      if (message.channel === channel) onMessage(message.payload ?? '');
    });
    const reconnect = (): void => {
      if (stopped || client !== next) return;
      client = undefined;
      next.end().catch(() => {});
      scheduleRetry(1_000);
    };
    next.on('error', reconnect);
    next.on('end', reconnect);
    await next.connect();
    await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    client = next;
  };
  const scheduleRetry = (delay: number): void => {
    retry = setTimeout(() => {
      connect().then(
        () => onMessage(missedMessages),
        () => scheduleRetry(Math.min(delay * 2, 10_000)),
      );
    }, delay);
    retry.unref();
  };

  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}

function openPostgres(connectionString: string): Database {
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // No query of ours takes seconds; a stuck one must fail rather than hold a request forever.
    statement_timeout: 10_000,
    query_timeout: 15_000,
  });
  // An idle client losing its connection emits on the pool; without a listener Node would crash.
  pool.on('error', () => {});
  return {
    kind: 'postgres',
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      assertStorableParams(params);
      const result = await pool.query(sql, params as unknown[]);
      return result.rows as Row[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          async query<Row>(sql: string, params: readonly unknown[] = []) {
            assertStorableParams(params);
            return (await client.query(sql, params as unknown[])).rows as Row[];
          },
          async exec(sql: string) {
            await client.query(sql);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async listen(channel, onMessage) {
      return listenWithReconnect(connectionString, channel, onMessage);
    },
    async close() {
      await pool.end();
    },
  };
}

async function openPglite(dataDir: string): Promise<Database> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const db = await PGlite.create({ dataDir });
  return {
    kind: 'pglite',
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      assertStorableParams(params);
      return (await db.query<Row>(sql, params as unknown[])).rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      return db.transaction(async (tx) =>
        fn({
          async query<Row>(sql: string, params: readonly unknown[] = []) {
            assertStorableParams(params);
            return (await tx.query<Row>(sql, params as unknown[])).rows;
          },
          async exec(sql: string) {
            await tx.exec(sql);
          },
        }),
      );
    },
    async listen(channel, onMessage) {
      const unsubscribe = await db.listen(channel, onMessage);
      return unsubscribe;
    },
    async close() {
      await db.close();
    },
  };
}

export async function openDatabase(options: { databaseUrl?: string | undefined; dataDir: string }): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openPglite(options.dataDir);
}
