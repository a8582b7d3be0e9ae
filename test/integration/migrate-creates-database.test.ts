// `npm run migrate` against a Postgres server where the database of DATABASE_URL does not exist
// yet: it creates it, then applies the migrations (the README's "Running on Postgres + Redis"
// section relies on this instead of a psql step first).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { databaseName } from '../../src/stores/create-database.js';
import { realStores, storesLabel } from '../helpers/server.js';
import { waitForExit } from '../helpers/http-support.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

async function runMigrate(databaseUrl: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/migrate.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = await waitForExit(child, 60_000);
  return { code: exit.code, stdout, stderr };
}

async function onServer<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe(`npm run migrate creates a missing database (${storesLabel})`, () => {
  it('reads the database name from DATABASE_URL as pg does (path, percent-decoded)', () => {
    assert.equal(databaseName('postgres://u@h:5432/portcullis'), 'portcullis');
    assert.equal(databaseName('postgres://u@h/my%20db?sslmode=require'), 'my db');
    assert.equal(databaseName('postgres://u@h:5432'), undefined);
    assert.equal(databaseName('postgres://u@h/'), undefined);
  });

  if (realStores) {
    it('regression: the Postgres section never said to create the database — migrate creates it once, then migrates', async () => {
      // A hyphen, so the name needs quoting in CREATE DATABASE.
      const name = `portcullis-created-${randomBytes(6).toString('hex')}`;
      const url = new URL(process.env.DATABASE_URL as string);
      url.pathname = `/${name}`;
      try {
        const first = await runMigrate(url.href);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(first.stderr, '');
        assert.match(first.stdout, new RegExp(`^created database ${name}\napplied: `));
        const exists = await onServer((client) => client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]));
        assert.equal(exists.rowCount, 1);

        const second = await runMigrate(url.href);
        assert.equal(second.code, 0, second.stderr);
        assert.equal(second.stdout, 'database is up to date\n');
      } finally {
        await onServer((client) => client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
      }
    });

    it('fails with the server\'s own error, in one line, when the server refuses the connection', async () => {
      const url = new URL(process.env.DATABASE_URL as string);
      url.username = `no_such_role_${randomBytes(4).toString('hex')}`;
      url.pathname = `/portcullis-never-${randomBytes(4).toString('hex')}`;
      const result = await runMigrate(url.href);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^portcullis migrate: .*no_such_role_.*\n$/);
    });
  }
});
