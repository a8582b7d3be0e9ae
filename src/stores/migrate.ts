// Forward-only SQL migrations from migrations/, applied in one transaction under a
// transaction-scoped advisory lock so that instances starting together apply each file once.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';
import { completeUsernameKeys } from './username-keys.js';

export const defaultMigrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url));

// An arbitrary constant shared by every Portcullis instance ("portcull" in ASCII, truncated to int8 range).
const migrationLockKey = 8_101_116_111_117_108;

// Migrations (and the wait for another instance's, behind the lock) may rightly take minutes on
// a large database: their own bound, not the request path's DATABASE_QUERY_TIMEOUT.
const migrationStatementTimeoutMs = 15 * 60_000;

const migrationName = /^(\d{3,})_[a-z0-9_]+\.sql$/;

export async function listMigrations(dir: string): Promise<{ name: string; file: string }[]> {
  const entries = await fs.readdir(dir);
  return entries
    .filter((entry) => migrationName.test(entry))
    .sort()
    .map((entry) => ({ name: entry.replace(/\.sql$/, ''), file: path.join(dir, entry) }));
}

/** Applies pending migrations; returns the names it applied. */
export async function migrate(db: Database, dir: string = defaultMigrationsDir): Promise<string[]> {
  const migrations = await listMigrations(dir);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set((await tx.query<{ name: string }>('SELECT name FROM schema_migrations')).map((row) => row.name));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.name)) continue;
      const sql = await fs.readFile(migration.file, 'utf8');
      await tx.exec(sql);
      await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [migration.name]);
      applied.push(migration.name);
    }
    // Columns SQL cannot fill (migration 008), for rows older than them; under the same lock.
    await completeUsernameKeys(tx);
    return applied;
  }, { timeoutMs: migrationStatementTimeoutMs });
}
