// The bound on waits for Postgres (DATABASE_QUERY_TIMEOUT, src/stores/database.ts) on a real
// server, whichever store set-up the suite runs on (DATABASE_URL, else 127.0.0.1:5432 as in
// .ci/run): a statement that takes longer is ended and reads as an outage (503), a statement
// stuck on a row lock as well, while migrations' own bound and LISTEN sessions are not cut by it.
// The statements here take their time on the server (pg_sleep, a held lock) on purpose: that
// is the slow work being bounded, not a wait for state.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig, ConfigError } from '../../src/config/index.js';
import { isStoreUnavailable } from '../../src/stores/availability.js';
import { missedMessages, openDatabase, type Database } from '../../src/stores/database.js';
import { createPostgresDatabase } from '../helpers/stores.js';

const postgresServer = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

describe('DATABASE_QUERY_TIMEOUT', () => {
  it('defaults to 3 seconds and takes whole seconds from 1 to 60', () => {
    assert.equal(loadConfig({}).databaseQueryTimeout, 3);
    assert.equal(loadConfig({ DATABASE_QUERY_TIMEOUT: '10' }).databaseQueryTimeout, 10);
    for (const bad of ['0', '61', '2.5', '3s']) {
      assert.throws(
        () => loadConfig({ DATABASE_QUERY_TIMEOUT: bad }),
        (error: unknown) => error instanceof ConfigError && error.variable === 'DATABASE_QUERY_TIMEOUT',
      );
    }
  });
});

describe('bounded waits for Postgres (real server)', () => {
  let database: { url: string; drop(): Promise<void> };
  let db: Database;

  before(async () => {
    database = await createPostgresDatabase(postgresServer);
    db = await openDatabase({ databaseUrl: database.url, dataDir: '', databaseQueryTimeout: 1 });
    await db.exec('CREATE TABLE locked (id int PRIMARY KEY, n int NOT NULL); INSERT INTO locked VALUES (1, 0)');
  });

  after(async () => {
    await db?.close();
    await database?.drop();
  });

  it('ends a statement that outlasts the timeout, as an outage, and the pool keeps working', async () => {
    const error = await db.query('SELECT pg_sleep(2)').then(
      () => assert.fail('a 2 s statement under a 1 s timeout must fail'),
      (caught: unknown) => caught,
    );
    assert.ok(isStoreUnavailable(error), `a store outage (503), got ${String(error)}`);
    assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
  });

  it('ends a statement stuck on a row lock, as an outage, and the lock holder is unharmed', async () => {
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    // The holder waits for the test, not for the clock; its own bound is the maintenance one.
    const holder = db.transaction(
      async (tx) => {
        await tx.query('SELECT n FROM locked WHERE id = 1 FOR UPDATE');
        locked();
        await holding;
        await tx.query('UPDATE locked SET n = n + 1 WHERE id = 1');
      },
      { timeoutMs: 30_000 },
    );
    await lockTaken;
    const error = await db.query('UPDATE locked SET n = n + 10 WHERE id = 1').then(
      () => assert.fail('an update behind a held row lock must not wait past the timeout'),
      (caught: unknown) => caught,
    );
    assert.ok(isStoreUnavailable(error), `a store outage (503), got ${String(error)}`);
    // The server cancelled it (query_canceled) before the client gave up: so it was not applied.
    assert.equal((error as { code?: unknown }).code, '57014');
    release();
    await holder;
    assert.deepEqual(await db.query('SELECT n FROM locked WHERE id = 1'), [{ n: 1 }]);
  });

  it('gives a transaction with its own bound (migrations) the time it needs', async () => {
    const rows = await db.transaction((tx) => tx.query<{ done: number }>('SELECT 1 AS done FROM pg_sleep(1.5)'), { timeoutMs: 60_000 });
    assert.deepEqual(rows, [{ done: 1 }]);
  });

  it('keeps a LISTEN session that stays idle longer than the timeout', async () => {
    const messages: string[] = [];
    let arrived!: () => void;
    const delivered = new Promise<void>((resolve) => (arrived = resolve));
    const stop = await db.listen('bounded_waits', (payload) => {
      messages.push(payload);
      if (payload === 'after') arrived();
    });
    try {
      // 1.5 s of real work elsewhere: the session is idle longer than the 1 s bound meanwhile.
      await db.transaction((tx) => tx.query('SELECT pg_sleep(1.5)'), { timeoutMs: 60_000 });
      await db.query("SELECT pg_notify('bounded_waits', 'after')");
      await delivered;
      assert.deepEqual(messages, ['after'], `no reconnect (${missedMessages}) in between`);
    } finally {
      await stop();
    }
  });
});
