// Migrations: every file applies to an empty database, a second run applies nothing, and
// instances migrating at the same moment apply each file exactly once (advisory lock).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openDatabase } from '../../src/stores/database.js';
import { defaultMigrationsDir, listMigrations, migrate } from '../../src/stores/migrate.js';
import { createPgliteDatabase, createPostgresDatabase } from '../helpers/stores.js';

const expectedTables = [
  'clients',
  'consents',
  'ephemeral_records',
  'recovery_codes',
  'resources',
  'revocation_events',
  'revoked_before',
  'revoked_tokens',
  'schema_migrations',
  'security_events',
  'users',
];

async function tablesOf(db: { query<R>(sql: string): Promise<R[]> }): Promise<string[]> {
  const rows = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  return rows.map((row) => row.table_name);
}

describe('migrations on PGlite', () => {
  it('apply every file to an empty database, and nothing the second time', async () => {
    const pglite = await createPgliteDatabase(); // migrated once by the helper
    try {
      assert.deepEqual(await tablesOf(pglite.db), expectedTables);
      assert.deepEqual(await migrate(pglite.db), []);
      const applied = await pglite.db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
      assert.deepEqual(
        applied.map((row) => row.name),
        (await listMigrations(defaultMigrationsDir)).map((migration) => migration.name),
      );
    } finally {
      await pglite.close();
    }
  });
});

if (process.env.DATABASE_URL) {
  describe('migrations on Postgres', () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('apply each file once when four instances start together', async () => {
      const database = await createPostgresDatabase();
      cleanups.push(() => database.drop());
      const instances = await Promise.all([1, 2, 3, 4].map(() => openDatabase({ databaseUrl: database.url, dataDir: '' })));
      cleanups.push(async () => {
        for (const db of instances) await db.close();
      });

      const results = await Promise.all(instances.map((db) => migrate(db)));
      const appliedAnywhere = results.flat();
      const all = await instances[0]!.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
      assert.equal(appliedAnywhere.length, all.length, 'every migration applied by exactly one instance');
      assert.equal(new Set(appliedAnywhere).size, appliedAnywhere.length);
      assert.equal(results.filter((applied) => applied.length > 0).length, 1, 'one instance did the work');
      assert.deepEqual(await tablesOf(instances[0]!), expectedTables);
    });
  });
}
