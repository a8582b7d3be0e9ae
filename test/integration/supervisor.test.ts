// `src/main.ts` as an operator runs it, one process or a node:cluster primary with WORKERS=2:
// crashed workers are replaced (with backoff) and the primary never exits 0 on its own; a start
// that cannot succeed ends non-zero with one stderr line naming the setting or file at fault; a
// stop signal ends with 0. Multi-worker cases need Postgres (the embedded database belongs to one
// process), so they use the Postgres server of this machine and CI whatever store set-up runs.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { childProcessEnv, freePort } from '../helpers/server.js';
import { waitForExit } from '../helpers/http-support.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const postgresServer = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface Started {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  url: string;
}

async function startMain(dir: string, env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot,
    env: {
      ...childProcessEnv(),
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: url,
      KEYS_DIR: path.join(dir, 'keys'),
      DATA_DIR: path.join(dir, 'data'),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  return { child, output, url };
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-supervisor-'));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresServer });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database on the Postgres server, dropped by the returned function. */
async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `portcullis_test_${randomBytes(8).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  const url = new URL(postgresServer);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withAdmin(async (client) => {
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)}`);
      }),
  };
}

/** The JSON log lines written so far. */
function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Polls until check() returns a value, the process exits, or the deadline passes. */
async function waitFor<T>(started: Started, what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    assert.equal(started.child.exitCode, null, `the process exited while waiting for ${what}:\n${started.output.stdout}\n${started.output.stderr}`);
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms:\n${started.output.stdout}\n${started.output.stderr}`);
    await sleep(50);
  }
}

const healthy = (url: string) =>
  fetch(`${url}/healthz`).then(
    (response) => (response.ok ? true : undefined),
    () => undefined,
  );

/** Asserts a failed start: non-zero by itself, one stderr line naming `named`, no stack trace. */
function assertOneLineFailure(result: { code: number | null; signal: NodeJS.Signals | null }, stderr: string, named: string): void {
  assert.notEqual(result.code, null, `exits by itself, not by ${result.signal}`);
  assert.notEqual(result.code, 0, 'exits non-zero');
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one stderr line, got:\n${stderr}`);
  assert.ok(lines[0]!.includes(named), `the line names ${named}: ${lines[0]}`);
  assert.ok(!/\bat .*\.(ts|js):\d+/.test(stderr), 'no stack trace');
}

async function corruptCookieKeys(dir: string): Promise<void> {
  await fs.mkdir(path.join(dir, 'keys'), { recursive: true });
  await fs.writeFile(path.join(dir, 'keys', 'cookie-keys.json'), '["half a key file');
}

describe('src/main.ts in one process (embedded database)', () => {
  it('regression: a corrupt key file printed a stack trace — one line names KEYS_DIR/cookie-keys.json and the exit is non-zero', async () => {
    await withTempDir(async (dir) => {
      await corruptCookieKeys(dir);
      const started = await startMain(dir, {});
      const result = await waitForExit(started.child, 60_000);
      assertOneLineFailure(result, started.output.stderr, 'KEYS_DIR/cookie-keys.json');
      assert.match(started.output.stderr, /not valid JSON/);
    });
  });

  it('a port already in use gives one line naming PORT and a non-zero exit', async () => {
    await withTempDir(async (dir) => {
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = holder.address() as net.AddressInfo;
        const started = await startMain(dir, { PORT: String(port) });
        const result = await waitForExit(started.child, 60_000);
        assertOneLineFailure(result, started.output.stderr, 'PORT');
        assert.ok(started.output.stderr.includes(`127.0.0.1:${port} is already in use`), started.output.stderr);
      } finally {
        await new Promise((resolve) => holder.close(resolve));
      }
    });
  });

  it('a stop signal ends a serving process with exit code 0', async () => {
    await withTempDir(async (dir) => {
      const started = await startMain(dir, {});
      try {
        await waitFor(started, 'a healthy server', () => healthy(started.url));
      } finally {
        started.child.kill('SIGTERM');
      }
      assert.deepEqual(await waitForExit(started.child, 30_000), { code: 0, signal: null });
    });
  });
  it('regression: the login-throttle Redis client had no error listener — reconnect failures are JSON warnings, rate-limited, never a trace', async () => {
    await withTempDir(async (dir) => {
      const deadPort = await freePort();
      const started = await startMain(dir, { REDIS_URL: `redis://127.0.0.1:${deadPort}` });
      try {
        const redisWarnings = (client?: string) =>
          logLines(started.output.stdout).filter((line) => line.msg === 'redis connection problem' && line.client === client);
        await waitFor(started, 'a login-throttle warning', () => (redisWarnings('login-throttle').length > 0 ? true : undefined));
        // The other clients log each failed reconnect: wait until many have happened.
        await waitFor(started, 'ten reconnect failures', () => (redisWarnings().length >= 10 ? true : undefined));
        const throttleWarnings = redisWarnings('login-throttle');
        assert.ok(throttleWarnings.length < redisWarnings().length, 'the login-throttle client is rate-limited');
        for (const line of throttleWarnings) {
          assert.equal(typeof line.suppressed, 'number');
          assert.match(String(line.err), /ECONNREFUSED/);
        }
      } finally {
        started.child.kill('SIGTERM');
      }
      await waitForExit(started.child, 30_000);
      assert.equal(started.output.stderr, '', 'nothing on stderr: no unhandled-error trace from ioredis');
    });
  });
});

describe('src/main.ts as a cluster primary (WORKERS=2, Postgres)', () => {
  let database: { url: string; drop(): Promise<void> };
  before(async () => {
    database = await createDatabase();
  });
  after(async () => {
    await database?.drop();
  });

  it('regression: killing every worker and their replacements made the primary exit 0 — it restarts them with backoff and keeps serving', async () => {
    await withTempDir(async (dir) => {
      const started = await startMain(dir, { WORKERS: '2', DATABASE_URL: database.url });
      try {
        const listeningPids = () =>
          logLines(started.output.stdout)
            .filter((line) => String(line.msg).startsWith('Portcullis listening'))
            .map((line) => line.pid as number);
        const startedPids = () =>
          logLines(started.output.stdout)
            .filter((line) => line.msg === 'started worker')
            .map((line) => line.workerPid as number);
        const first = await waitFor(started, 'two serving workers', () => (listeningPids().length >= 2 ? listeningPids() : undefined));
        await waitFor(started, 'a healthy server', () => healthy(started.url));
        // Kill every serving worker, then every replacement as soon as the primary forks it.
        for (const pid of first) process.kill(pid, 'SIGKILL');
        const killed = new Set(startedPids());
        const replacements = await waitFor(started, 'two replacements', () => {
          const fresh = startedPids().filter((pid) => !killed.has(pid));
          return fresh.length >= 2 ? fresh.slice(0, 2) : undefined;
        });
        for (const pid of replacements) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch (error) {
            // It may already have died on its own; what matters is that it does not serve.
            if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
          }
          killed.add(pid);
        }
        // The primary stays up and serves again from new workers.
        const after = await waitFor(started, 'two workers serving again', () => {
          const fresh = listeningPids().filter((pid) => !killed.has(pid));
          return fresh.length >= 2 ? fresh : undefined;
        });
        assert.equal(new Set(after).size, 2);
        await waitFor(started, 'a healthy server after the crashes', () => healthy(started.url));
        assert.equal(started.child.exitCode, null, 'the primary is still running');
        const exits = logLines(started.output.stdout).filter((line) => line.msg === 'worker exited; starting another');
        assert.ok(exits.length >= 4, 'four crashes were logged');
        for (const line of exits) {
          // regression: the exit code was redacted as if it were an authorization code, and pid was logged twice.
          assert.notEqual(line.exitCode, '[redacted]');
          assert.equal(typeof line.workerPid, 'number');
          assert.notEqual(line.workerPid, line.pid);
          assert.equal(typeof line.restartInMs, 'number');
        }
        const delays = exits.map((line) => line.restartInMs as number);
        assert.ok(delays.at(-1)! > delays[0]!, `the backoff grows: ${delays.join(', ')}`);
      } finally {
        started.child.kill('SIGTERM');
      }
      assert.deepEqual(await waitForExit(started.child, 30_000), { code: 0, signal: null }, 'SIGTERM ends the primary with 0');
    });
  });

  it('regression: a DATABASE_URL with nothing listening gave exit 0 or an endless crash loop — the primary gives up non-zero with one line naming DATABASE_URL', async () => {
    await withTempDir(async (dir) => {
      const deadPort = await freePort();
      const started = await startMain(dir, { WORKERS: '2', DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPort}/portcullis` });
      const result = await waitForExit(started.child, 90_000);
      assertOneLineFailure(result, started.output.stderr, 'DATABASE_URL');
      assert.ok(started.output.stderr.includes(`connection refused at 127.0.0.1:${deadPort}`), started.output.stderr);
    });
  });

  it('regression: a corrupt key file under WORKERS=2 crash-looped — one line names KEYS_DIR/cookie-keys.json and the exit is non-zero', async () => {
    await withTempDir(async (dir) => {
      await corruptCookieKeys(dir);
      const started = await startMain(dir, { WORKERS: '2', DATABASE_URL: database.url });
      const result = await waitForExit(started.child, 60_000);
      assertOneLineFailure(result, started.output.stderr, 'KEYS_DIR/cookie-keys.json');
      assert.match(started.output.stderr, /not valid JSON/);
      // A file error is not retried: no replacement was started after the first failures.
      const forks = logLines(started.output.stdout).filter((line) => line.msg === 'started worker');
      assert.ok(forks.length <= 2, `no retries of a file error (${forks.length} workers started)`);
    });
  });
});
