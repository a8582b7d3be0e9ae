// Migration 008 adds normalised username keys that SQL cannot compute; completeUsernameKeys
// fills them for rows older than the migration, under the migration lock. Older accounts win a
// collision; the loser keeps a NULL key (cannot sign in until renamed) and is reported.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { normalizeUsername } from '../../src/credentials/usernames.js';
import { openDatabase, type Database } from '../../src/stores/database.js';
import { defaultMigrationsDir, listMigrations, migrate } from '../../src/stores/migrate.js';
import { findUsersWithoutUsernameKey } from '../../src/stores/username-keys.js';
import { findUserByUsername, findUsernameConflict, insertUser } from '../../src/stores/users.js';
import { createPostgresDatabase } from '../helpers/stores.js';

/** A copy of the migrations before 008, to build the schema old rows were written in. */
async function migrationsBefore008(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-migrations-'));
  for (const migration of await listMigrations(defaultMigrationsDir)) {
    if (migration.name >= '008') continue;
    await fs.copyFile(migration.file, path.join(dir, path.basename(migration.file)));
  }
  return dir;
}

// Rows written by a release before 008 (no keys), oldest first.
const oldRows: [sub: string, username: string][] = [
  ['u1', 'Strauß'],
  ['u2', 'José'],
  ['u3', 'iris-x'],
  ['u4', 'STRAUSS'], // normalises like u1: the younger loses its login key
  ['u5', 'Jose'], // looks like u2 but is another name: it keeps its login key
  ['u6', 'ｆｕｌｌｗｉｄｔｈ'],
];

async function insertOldRows(db: Database): Promise<void> {
  for (const [index, [sub, username]] of oldRows.entries()) {
    await db.query(
      `INSERT INTO users (sub, username, password_hash, created_at) VALUES ($1, $2, 'x', now() - make_interval(secs => $3))`,
      [sub, username, 1000 - index],
    );
  }
  // Enough rows to take several batches, all sharing one created_at to the microsecond.
  await db.query(
    `INSERT INTO users (sub, username, password_hash, created_at)
     SELECT 'bulk-' || lpad(n::text, 5, '0'), 'Bulk-' || n, 'x', timestamptz '2020-01-01 00:00:00.123456+00'
     FROM generate_series(1, 2500) AS n`,
  );
}

async function checkBackfill(db: Database): Promise<void> {
  const keys = new Map(
    (await db.query<{ sub: string; username_key: string | null; username_lookalike_key: string | null }>(
      'SELECT sub, username_key, username_lookalike_key FROM users',
    )).map((row) => [row.sub, row]),
  );
  assert.equal(keys.get('u1')?.username_key, 'strauss');
  assert.equal(keys.get('u4')?.username_key, null, 'the younger of two alike-normalising names has no login key');
  assert.equal(keys.get('u2')?.username_lookalike_key, 'jose');
  assert.equal(keys.get('u5')?.username_key, 'jose', 'a look-alike of an older name still signs in');
  assert.equal(keys.get('u5')?.username_lookalike_key, null);
  assert.equal(keys.get('u6')?.username_key, 'fullwidth');
  assert.equal(keys.get('bulk-02500')?.username_key, 'bulk-2500', 'every batch done');
  assert.equal([...keys.values()].filter((row) => row.username_key === null).length, 1);

  assert.equal((await findUserByUsername(db, 'strauss'))?.sub, 'u1');
  assert.equal((await findUserByUsername(db, 'İris-x')), undefined, 'a look-alike is not the account');
  assert.equal((await findUserByUsername(db, 'IRIS-X'))?.sub, 'u3');
  assert.deepEqual(await findUsersWithoutUsernameKey(db), [{ sub: 'u4', username: 'STRAUSS' }]);
  assert.deepEqual(await findUsernameConflict(db, 'İris-x'), { kind: 'lookalike', existing: 'iris-x' });
  assert.deepEqual(await findUsernameConflict(db, 'Iris-X'), { kind: 'taken', existing: 'iris-x' });
  assert.equal(await findUsernameConflict(db, 'Iris-X', 'u3'), undefined, 'its own name is no conflict');
  assert.equal(normalizeUsername('İris-x') === normalizeUsername('iris-x'), false);
}

describe('username keys (migration 008) on PGlite', () => {
  it('are filled for rows older than the migration, oldest first, and a second run changes nothing', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-test-'));
    const db = await openDatabase({ dataDir: path.join(dir, 'pgdata') });
    try {
      await migrate(db, await migrationsBefore008());
      await insertOldRows(db);
      assert.ok((await migrate(db)).includes('008_username_keys'));
      await checkBackfill(db);
      assert.deepEqual(await migrate(db), []);
      await checkBackfill(db);
    } finally {
      await db.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

if (process.env.DATABASE_URL) {
  describe('username keys (migration 008) on Postgres', () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('are filled once when four instances start together', async () => {
      const database = await createPostgresDatabase();
      cleanups.push(() => database.drop());
      const instances = await Promise.all([1, 2, 3, 4].map(() => openDatabase({ databaseUrl: database.url, dataDir: '' })));
      cleanups.push(async () => {
        for (const db of instances) await db.close();
      });
      await migrate(instances[0]!, await migrationsBefore008());
      await insertOldRows(instances[0]!);
      await Promise.all(instances.map((db) => migrate(db)));
      await checkBackfill(instances[0]!);
    });

    // Rolling start: an instance of the new release is running (it stores keys with every new
    // user) while another starts and backfills rows an old instance wrote without keys. The
    // backfill's NOT EXISTS reads its statement's snapshot; a user committed after it took the
    // key anyway, the unique index refused the UPDATE (23505) and migrate() failed, so the
    // instance could not start. Deterministic: the upgraded instance's insert is held open until
    // the backfill waits on it, then committed. Postgres only: it takes two connections, and
    // embedded PGlite has one (a single instance owns its data directory, so the race cannot
    // arise there).
    it('regression: a user committed by an upgraded instance during the backfill aborted migrate() with 23505 — the old row keeps no key and the start goes on', async () => {
      const database = await createPostgresDatabase();
      cleanups.push(() => database.drop());
      const starting = await openDatabase({ databaseUrl: database.url, dataDir: '' });
      const upgraded = await openDatabase({ databaseUrl: database.url, dataDir: '' });
      cleanups.push(async () => {
        await starting.close();
        await upgraded.close();
      });
      await migrate(starting);
      // Written by an instance still on the old release: no keys.
      for (const [sub, username, age] of [['old-contested', 'Rolling', 7200], ['old-free', 'Steady', 3600]] as const) {
        await starting.query(
          `INSERT INTO users (sub, username, password_hash, created_at) VALUES ($1, $2, 'x', now() - make_interval(secs => $3))`,
          [sub, username, age],
        );
      }

      let commitInsert!: () => void;
      const insertMayCommit = new Promise<void>((resolve) => (commitInsert = resolve));
      let insertDone!: () => void;
      const inserted = new Promise<void>((resolve) => (insertDone = resolve));
      const upgradedInsert = upgraded.transaction(async (tx) => {
        const user = await insertUser(tx, {
          sub: 'new-rolling',
          username: 'ROLLING',
          passwordHash: 'x',
          email: undefined,
          emailVerified: false,
          name: undefined,
          givenName: undefined,
          familyName: undefined,
          disabled: false,
          mfaRequired: false,
        });
        assert.ok(user, 'the upgraded instance stores the new user (the old row has no key to conflict with)');
        insertDone();
        await insertMayCommit;
      });
      await inserted;

      const backfill = migrate(starting).then(
        (applied) => ({ applied }),
        (error: unknown) => ({ error }),
      );
      // The backfill's UPDATE has written the key and waits for the open insert to end.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const [waiting] = await upgraded.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE users%'`,
        );
        if (waiting!.n > 0) break;
        assert.ok(Date.now() < deadline, 'the backfill came to wait on the open insert');
        await new Promise((resolve) => setImmediate(resolve));
      }
      commitInsert();
      await upgradedInsert;

      const outcome = await backfill;
      assert.ok(!('error' in outcome), `migrate() went on: ${'error' in outcome ? String(outcome.error) : ''}`);
      assert.deepEqual(outcome.applied, []);
      const keys = await starting.query<{ sub: string; username_key: string | null; username_lookalike_key: string | null }>(
        'SELECT sub, username_key, username_lookalike_key FROM users ORDER BY sub',
      );
      assert.deepEqual(keys, [
        { sub: 'new-rolling', username_key: 'rolling', username_lookalike_key: 'rolling' },
        // Someone else holds its keys now: NULL, named by the warning at every start.
        { sub: 'old-contested', username_key: null, username_lookalike_key: null },
        // The rest of the batch is filled all the same.
        { sub: 'old-free', username_key: 'steady', username_lookalike_key: 'steady' },
      ]);
      assert.deepEqual(await findUsersWithoutUsernameKey(starting), [{ sub: 'old-contested', username: 'Rolling' }]);
      assert.equal((await findUserByUsername(starting, 'rolling'))?.sub, 'new-rolling');
      assert.deepEqual(await migrate(starting), [], 'a later start changes nothing and fails on nothing');
    });
  });
}
