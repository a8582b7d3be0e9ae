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
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
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

/** How long a request may wait for Postgres when the caller says nothing (DATABASE_QUERY_TIMEOUT). */
const defaultQueryTimeoutMs = 3_000;

// A LISTEN session is idle for hours by design, so the query timeout is not for it; only its
// set-up is bounded, so that a reconnect to a hung server fails and is retried instead of
// waiting for ever.
const listenSetupTimeoutMs = 10_000;

// Longest a transaction may sit idle between statements before the server ends its session.
// A client whose connection hung mid-transaction is discarded here, but the server may not see
// that for a long time and would keep its row locks; no transaction of ours waits this long.
const idleInTransactionTimeoutMs = 60_000;

export interface TransactionOptions {
  /**
   * Bound on each statement in milliseconds, instead of the query timeout: for migrations and
   * maintenance, which may rightly take minutes. Getting the connection keeps the query timeout
   * (a server that does not hand one out in seconds is down, whatever the work).
   */
  readonly timeoutMs?: number;
}

/** Throws unless the database answers (readiness). */
export async function pingDatabase(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}

/**
 * A small pg.Pool of its own for a library that needs one (the login throttles on Postgres),
 * bounded like every other wait for Postgres on a request's path (DATABASE_QUERY_TIMEOUT): a
 * hung server makes a login answer 503, never wait forever.
 */
export function openBoundedPool(connectionString: string, max: number, queryTimeoutSeconds?: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, ...boundedPoolOptions(queryTimeoutSeconds) });
  // Errors of idle connections surface on the next query; without a listener they would crash.
  pool.on('error', () => {});
  return pool;
}

/** Postgres did not answer in time: an outage to the caller (503), like a refused connection. */
export class DatabaseTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Postgres did not answer within ${timeoutMs} ms`);
    this.name = 'DatabaseTimeoutError';
  }
}

/**
 * Settles with work, or rejects with DatabaseTimeoutError after timeoutMs and calls onLate, which
 * disposes of whatever work still holds (a connection with a hung query must not be reused).
 */
function within<T>(work: Promise<T>, timeoutMs: number, onLate: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onLate();
      reject(new DatabaseTimeoutError(timeoutMs));
    }, timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

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
    // query_timeout reaches only the LISTEN statement: nothing else is sent on this session.
    const next = new pg.Client({
      connectionString,
      connectionTimeoutMillis: listenSetupTimeoutMs,
      query_timeout: listenSetupTimeoutMs,
      keepAlive: true,
    });
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
    try {
      await next.connect();
      await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      await next.end().catch(() => {});
      throw error;
    }
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

/**
 * pg.Pool options that bound every wait on a pool used on a request's path with pool.query (the
 * login throttles' RateLimiterPostgres): pg's own client-side query_timeout (pool.query then
 * discards the connection), the server's statement_timeout and the wait for a connection.
 */
function boundedPoolOptions(queryTimeoutSeconds: number = defaultQueryTimeoutMs / 1000): pg.PoolConfig {
  const ms = queryTimeoutSeconds * 1000;
  return { connectionTimeoutMillis: ms, query_timeout: ms, statement_timeout: ms, keepAlive: true };
}

// Every wait for Postgres on a request's path is bounded by queryTimeoutMs, so that a hung
// server (or network) turns into a 503 within that time, as a Redis outage does
// (src/stores/redis-client.ts), instead of holding requests and connections:
// - getting a pooled connection, which waits behind hung queries once the pool is exhausted;
// - each statement, on the client (a frozen network never answers, so the server's own timeout
//   cannot be heard) and on the server (statement_timeout: a statement stuck on a lock is
//   cancelled and its backend freed).
// A connection whose statement timed out is discarded, never returned to the pool.
// The client waits clientGraceMs longer than the server: a server that can still speak cancels
// the statement itself first (then the caller knows it was not applied, and the connection
// stays usable); the client's bound is for one that cannot.
const clientGraceMs = 500;

function openPostgres(connectionString: string, queryTimeoutMs: number): Database {
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    connectionTimeoutMillis: queryTimeoutMs + clientGraceMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    statement_timeout: queryTimeoutMs,
    idle_in_transaction_session_timeout: idleInTransactionTimeoutMs,
  });
  // An idle client losing its connection emits on the pool; without a listener Node would crash.
  pool.on('error', () => {});

  const checkOut = (timeoutMs: number): Promise<pg.PoolClient> => {
    const acquiring = pool.connect();
    // A connection that arrives after the caller gave up goes straight back.
    return within(acquiring, timeoutMs, () => void acquiring.then((late) => late.release(), () => {}));
  };

  /** Runs statements on one checked-out connection, each bounded; discards it if one broke it. */
  const onConnection = async <T>(timeoutMs: number, use: (run: (sql: string, params?: readonly unknown[]) => Promise<pg.QueryResult>) => Promise<T>): Promise<T> => {
    // Getting the connection and the first statement share one bound: a request waits at most
    // that long for its first answer, however the time is split between the two.
    let firstDeadline: number | undefined = Date.now() + timeoutMs + clientGraceMs;
    const client = await checkOut(timeoutMs + clientGraceMs);
    let broken: Error | undefined;
    // A checked-out connection that drops between statements emits 'error' on the client;
    // without a listener Node would crash (pool.query adds one the same way).
    const onConnectionError = (error: Error): void => {
      broken ??= error;
    };
    client.on('error', onConnectionError);
    const run = async (sql: string, params?: readonly unknown[]): Promise<pg.QueryResult> => {
      if (broken) throw broken;
      const bound = firstDeadline === undefined ? timeoutMs + clientGraceMs : Math.max(1, firstDeadline - Date.now());
      firstDeadline = undefined;
      try {
        return await within(client.query(sql, params as unknown[] | undefined), bound, () => {});
      } catch (error) {
        // An error the server reported (a unique violation, say) leaves the connection usable,
        // within a transaction too (ROLLBACK TO SAVEPOINT). Anything else — a timeout, a lost
        // connection — means it must not be used again: a timed-out one still has its statement
        // in flight, and releasing it with the error closes it.
        if (!(error instanceof pg.DatabaseError)) broken = error as Error;
        throw error;
      }
    };
    try {
      return await use(run);
    } finally {
      client.removeListener('error', onConnectionError);
      client.release(broken);
    }
  };

  return {
    kind: 'postgres',
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      assertStorableParams(params);
      return onConnection(queryTimeoutMs, async (run) => (await run(sql, params)).rows as Row[]);
    },
    async exec(sql: string) {
      await onConnection(queryTimeoutMs, (run) => run(sql));
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>, options: TransactionOptions = {}) {
      const timeoutMs = options.timeoutMs ?? queryTimeoutMs;
      return onConnection(timeoutMs, async (run) => {
        await run('BEGIN');
        try {
          if (options.timeoutMs !== undefined) {
            // The session's limits are the request path's; this transaction has its own.
            await run(`SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`);
            await run('SET LOCAL idle_in_transaction_session_timeout = 0');
          }
          const result = await fn({
            async query<Row>(sql: string, params: readonly unknown[] = []) {
              assertStorableParams(params);
              return (await run(sql, params)).rows as Row[];
            },
            async exec(sql: string) {
              await run(sql);
            },
          });
          await run('COMMIT');
          return result;
        } catch (error) {
          // After a broken connection there is nothing to roll back on: closing it rolls back.
          await run('ROLLBACK').catch(() => {});
          throw error;
        }
      });
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

/**
 * Postgres when databaseUrl is given, else the embedded PGlite in dataDir. databaseQueryTimeout
 * (seconds, DATABASE_QUERY_TIMEOUT) bounds every wait for Postgres; PGlite runs in this process
 * and cannot hang the way a server or a network can, so it has no such bound.
 */
export async function openDatabase(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
  databaseQueryTimeout?: number | undefined;
}): Promise<Database> {
  const queryTimeoutMs = options.databaseQueryTimeout === undefined ? defaultQueryTimeoutMs : options.databaseQueryTimeout * 1000;
  return options.databaseUrl ? openPostgres(options.databaseUrl, queryTimeoutMs) : openPglite(options.dataDir);
}
