// Migration 009 (issue #14): revocation times move from epoch seconds to milliseconds. A mark
// written before it covered its whole second ("issued at or before this second"), so it must
// still revoke every token of that second afterwards, and nothing of the next; marks and feed
// events then read in ms, with the seconds readers still take from instances not yet upgraded.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase, type Database } from '../../src/stores/database.js';
import { defaultMigrationsDir, listMigrations, migrate } from '../../src/stores/migrate.js';
import { createLogger } from '../../src/log.js';
import { openRevocations } from '../../src/revocation/revocations.js';
import { listRevocationEvents } from '../../src/stores/revocation-events.js';
import { createPostgresDatabase } from '../helpers/stores.js';

/** A copy of the migrations before 009, to bring a database to the state an older release left. */
async function migrationsBefore009(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-migrations-'));
  for (const migration of await listMigrations(defaultMigrationsDir)) {
    if (migration.name >= '009') continue;
    await fs.copyFile(migration.file, path.join(dir, path.basename(migration.file)));
  }
  return { dir, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}

async function checkMigration(db: Database): Promise<void> {
  const older = await migrationsBefore009();
  try {
    await migrate(db, older.dir);
  } finally {
    await older.remove();
  }
  const second = Math.floor(Date.now() / 1000);
  await db.query(
    `INSERT INTO revoked_before (kind, id, revoked_at, expires_at) VALUES ('sub', 'old-user', $1, now() + interval '1 day')`,
    [second],
  );
  await db.query(
    `INSERT INTO revocation_events (kind, value, revoked_at, expires_at) VALUES
       ('client', 'old-client', $1, now() + interval '1 day'), ('jti', 'old-jti', $1, now() + interval '1 day')`,
    [second],
  );

  assert.ok((await migrate(db)).some((name) => name.startsWith('009_')), 'migration 009 applies');

  const [mark] = await db.query<{ revoked_at: number }>(`SELECT revoked_at FROM revoked_before WHERE id = 'old-user'`);
  assert.equal(Number(mark?.revoked_at), second * 1000 + 999, 'a seconds mark becomes its last millisecond');
  const events = await listRevocationEvents(db, 0, 10);
  assert.deepEqual(
    events.map(({ kind, revokedAt }) => [kind, revokedAt]),
    [
      ['client', second * 1000 + 999],
      ['jti', second * 1000],
    ],
  );

  const store = await openRevocations({ db, log: createLogger('silent') });
  try {
    const token = (issuedAt: number) => ({ jti: `t-${issuedAt}`, issuedAt, sub: 'old-user' });
    assert.equal(await store.isRevoked(token(second * 1000)), true, 'issued at the start of the old mark\'s second');
    assert.equal(await store.isRevoked(token(second * 1000 + 999)), true, 'issued at its end');
    assert.equal(await store.isRevoked(token((second + 1) * 1000)), false, 'issued in the next second');
    // An instance not yet upgraded still writes seconds: read the same way.
    await db.query(`UPDATE revoked_before SET revoked_at = $1 WHERE id = 'old-user'`, [second + 5]);
    assert.equal(await store.isRevoked(token((second + 5) * 1000 + 999)), true, 'a late seconds write');
    assert.equal(await store.isRevoked(token((second + 6) * 1000)), false);
  } finally {
    await store.close();
  }
}

describe('migration 009: revocation times in ms', () => {
  it('keeps every pre-migration mark revoking its whole second, on PGlite', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-test-'));
    const db = await openDatabase({ dataDir: path.join(dir, 'pgdata') });
    try {
      await checkMigration(db);
    } finally {
      await db.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  if (process.env.DATABASE_URL) {
    it('keeps every pre-migration mark revoking its whole second, on Postgres', async () => {
      const database = await createPostgresDatabase();
      const db = await openDatabase({ databaseUrl: database.url, dataDir: '' });
      try {
        await checkMigration(db);
      } finally {
        await db.close();
        await database.drop();
      }
    });
  }
});
