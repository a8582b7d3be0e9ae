// Issue #15 item 2: a delete and its revocation are one change. Every admin change that revokes
// commits its revocation (and the revocation's feed event) in the change's own Postgres
// transaction (RevocationStore.withChange); Redis's copy is brought up to date after the commit
// and whenever it can be. So a Redis that hangs after the change was made cannot leave a deleted
// user's or client's tokens alive, a Postgres that fails mid-change leaves nothing half done, and
// a retry finishes what was left.
// Redis is a dedicated redis-server on its own port, frozen with SIGSTOP; Postgres is reached
// through a TCP proxy the test takes down, and a second connection holds a row lock so the
// change waits at a known point. Those two need a real Postgres (DATABASE_URL); the rest runs on
// the embedded PGlite too.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { adminRequest, basicAuth, createUser, getAdminToken, introspectAsAdmin } from '../helpers/admin.js';
import { readEventStream } from '../helpers/event-stream.js';
import { authorizationRequest, BrowserlessUser } from '../helpers/http-login.js';
import { createTestEnvironment, freePort, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { createPostgresDatabase, redisCli, startRedisServer, startTcpProxy, type TestRedisServer } from '../helpers/stores.js';
import { until } from '../helpers/wait.js';

const api = 'https://ledger.outbox.test';
const callback = 'https://outbox-web.example.test/callback';
const password = 'one change password';
const onPostgres = Boolean(process.env.DATABASE_URL);
const label = onPostgres ? 'Postgres + dedicated Redis' : 'embedded PGlite + dedicated Redis';
// These need a Postgres server (DATABASE_URL): a second connection holding a row lock, and a
// TCP connection to cut; the embedded PGlite has neither. They run in CI's Postgres + Redis pass.
const itOnPostgres: (name: string, fn: () => Promise<void>) => void = (name, fn) => {
  if (onPostgres) it(name, fn);
};

const inactiveOrUnavailable = (answer: { status: number; active?: boolean }) => answer.status === 503 || (answer.status === 200 && answer.active === false);

async function send(url: string, token: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.text() };
}

interface FeedEvent {
  id: number;
  kind: string;
  value: string;
}

/** A subscriber to the revocation feed that stays connected and keeps every event it is sent. */
class FeedSubscriber {
  readonly events: FeedEvent[] = [];
  /** The id of the last event replayed before `ready` (else the id it resumed after). */
  readyAfter: number | undefined;
  readonly #abort = new AbortController();
  #ended = false;

  static async open(url: string, token: string, after = 0): Promise<FeedSubscriber> {
    const subscriber = new FeedSubscriber();
    const response = await fetch(`${url}/revocations?after=${after}`, { headers: { authorization: `Bearer ${token}` }, signal: subscriber.#abort.signal });
    assert.equal(response.status, 200);
    void subscriber.#read(response, after).catch(() => {});
    await until('the feed is ready', async () => subscriber.readyAfter !== undefined, 10_000);
    return subscriber;
  }

  async #read(response: Response, after: number): Promise<void> {
    try {
      for await (const event of readEventStream(response)) {
        if (event.event === 'ready') this.readyAfter = this.events.at(-1)?.id ?? after;
        if (event.event === 'revocation') {
          const data = JSON.parse(event.data!) as { kind: string; value: string };
          this.events.push({ id: Number(event.id), kind: data.kind, value: data.value });
        }
      }
    } finally {
      this.#ended = true;
    }
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Events sent after `ready`. */
  live(): FeedEvent[] {
    return this.events.filter((event) => event.id > (this.readyAfter ?? 0));
  }

  close(): void {
    this.#abort.abort();
  }
}

describe(`a delete and its revocation are one change (${label})`, () => {
  let env: TestEnvironment;
  let database: { url: string; drop(): Promise<void> } | undefined;
  let postgresProxy: { port: number; stop(): Promise<void> } | undefined;
  let sql: pg.Client | undefined;
  /** Through the Postgres proxy when there is one. */
  let first: TestServer;
  /** A second instance on the same stores (Postgres only: the embedded PGlite is one process's). */
  let second: TestServer | undefined;
  let redis: TestRedisServer;
  let redisPort: number;
  let redisDir: string;
  let frozen = false;
  const secrets: Record<string, string> = {};

  /** The pid of our redis-server, to freeze it (SIGSTOP). */
  let redisPid: number;
  // SIGSTOP: the server keeps its connections but answers nothing, as a hung Redis does.
  const freezeRedis = () => {
    process.kill(redisPid, 'SIGSTOP');
    frozen = true;
  };
  const thawRedis = () => {
    if (frozen) process.kill(redisPid, 'SIGCONT');
    frozen = false;
  };

  async function registerClient(url: string, clientId: string, scope = 'ledger.read'): Promise<void> {
    const admin = await getAdminToken(url);
    const created = await adminRequest(url, admin, 'POST', '/admin/clients', { client_id: clientId, grant_types: ['client_credentials'], ...(scope ? { scope } : {}) });
    secrets[clientId] = created.client_secret as string;
  }

  async function requestClientToken(url: string, clientId: string, secret = secrets[clientId]!, resource = api) {
    const response = await fetch(`${url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth(clientId, secret) },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource }),
    });
    return { status: response.status, body: (await response.json()) as { access_token?: string; error?: string } };
  }

  async function clientToken(url: string, clientId: string, resource = api): Promise<string> {
    const { body } = await requestClientToken(url, clientId, secrets[clientId], resource);
    assert.ok(body.access_token, JSON.stringify(body));
    return body.access_token;
  }

  /** A user's JWT access token for the API, through a browserless login. */
  async function userToken(username: string): Promise<string> {
    const request = authorizationRequest(first.issuer, 'outbox-web', callback, { scope: 'openid ledger.read', resource: api, prompt: 'consent' });
    const redirect = await new BrowserlessUser(callback).authorize(request.url, username, password);
    const response = await fetch(`${first.url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth('outbox-web', secrets['outbox-web']!) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, code_verifier: request.verifier, redirect_uri: callback, resource: api }),
    });
    const body = (await response.json()) as { access_token?: string };
    assert.ok(body.access_token, JSON.stringify(body));
    return body.access_token;
  }

  const feedToken = (url: string) => clientToken(url, 'ledger-api', `${first.issuer}/revocations`);

  async function revocationEvents(kind: string, value: string): Promise<number> {
    const rows = await sql!.query('SELECT id FROM revocation_events WHERE kind = $1 AND value = $2', [kind, value]);
    return rows.rowCount ?? 0;
  }

  /** A connection that holds `FOR UPDATE` on one row until release() (COMMIT). */
  async function holdRowLock(query: string, id: string): Promise<{ release(): Promise<void> }> {
    const locker = new pg.Client({ connectionString: database!.url });
    await locker.connect();
    await locker.query('BEGIN');
    const locked = await locker.query(query, [id]);
    assert.equal(locked.rowCount, 1, 'the row to lock exists');
    return {
      async release() {
        await locker.query('COMMIT');
        await locker.end();
      },
    };
  }

  /** Resolves once some other session of this database waits for a lock (our change, at the row). */
  async function changeWaitsOnLock(): Promise<void> {
    const name = new URL(database!.url).pathname.slice(1);
    await until(
      'the change waits on the row lock',
      async () => {
        const rows = await sql!.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", [name]);
        return (rows.rowCount ?? 0) > 0;
      },
      2_000,
    );
  }

  before(async () => {
    env = await createTestEnvironment();
    redisPort = await freePort();
    redisDir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-redis-'));
    redis = await startRedisServer(redisPort, redisDir);
    redisPid = redis.pid;
    const stores: Record<string, string> = { REDIS_URL: `redis://127.0.0.1:${redisPort}` };
    if (onPostgres) {
      database = await createPostgresDatabase();
      const direct = new URL(database.url);
      postgresProxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
      const proxied = new URL(direct);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(postgresProxy.port);
      first = await env.start({ ...stores, DATABASE_URL: proxied.toString() });
      second = await env.start({ ...stores, DATABASE_URL: database.url, ISSUER: first.issuer });
      sql = new pg.Client({ connectionString: database.url });
      await sql.connect();
    } else {
      first = await env.start(stores);
    }
    const admin = await getAdminToken(first.url);
    await adminRequest(first.url, admin, 'POST', '/admin/resources', { identifier: api, scopes: ['ledger.read'] });
    await registerClient(first.url, 'ledger-api', '');
    await adminRequest(first.url, admin, 'PUT', `/admin/resources/${encodeURIComponent(api)}`, { scopes: ['ledger.read'], client_id: 'ledger-api' });
    const web = await adminRequest(first.url, admin, 'POST', '/admin/clients', {
      client_id: 'outbox-web',
      grant_types: ['authorization_code'],
      redirect_uris: [callback],
      scope: 'openid ledger.read',
      first_party: true,
    });
    secrets['outbox-web'] = web.client_secret as string;
  });

  after(async () => {
    thawRedis();
    await env?.cleanup();
    await sql?.end();
    await postgresProxy?.stop();
    await database?.drop();
    await redis?.stop();
    if (redisDir) await fs.rm(redisDir, { recursive: true, force: true });
  });

  /**
   * The change waits on a row lock (so it is under way), Redis freezes, the lock goes: the change
   * commits with its revocation while Redis cannot be reached. Answers what the change answered.
   */
  async function changeWhileRedisFreezes(lock: { release(): Promise<void> }, change: () => Promise<{ status: number; body: string }>) {
    const answer = change();
    let released: number;
    try {
      await changeWaitsOnLock();
      // The request has passed its admin authentication (which checks the revocation state, so
      // it needs Redis or Postgres) and is inside the change's transaction: freeze Redis now.
      freezeRedis();
    } finally {
      await lock.release();
      released = Date.now();
    }
    const result = await answer;
    // Updating Redis's copy after the commit is bounded by the Redis command timeout (2 s,
    // stores/redis-client.ts), not left hanging on a frozen Redis.
    const waited = Date.now() - released;
    assert.ok(waited < 6_000, `answered ${waited} ms after the lock was released`);
    return result;
  }

  itOnPostgres('row lock + frozen Redis: DELETE /admin/users/{sub} answers 204, and the user\'s tokens stay revoked', async () => {
    const admin = await getAdminToken(first.url);
    const sub = await createUser(first.url, admin, { username: 'lena', password });
    const token = await userToken('lena');
    assert.deepEqual(await introspectAsAdmin(first.url, token), { status: 200, active: true });
    try {
      const lock = await holdRowLock('SELECT sub FROM users WHERE sub = $1 FOR UPDATE', sub);
      const deleted = await changeWhileRedisFreezes(lock, () => send(first.url, admin, 'DELETE', `/admin/users/${encodeURIComponent(sub)}`));
      assert.equal(deleted.status, 204, `the change and its revocation are durable, so the delete succeeded: ${deleted.body}`);
      // With Redis still frozen: the row is gone and its revocation is recorded with it.
      assert.equal((await sql!.query('SELECT 1 FROM users WHERE sub = $1', [sub])).rowCount, 0);
      assert.equal(await revocationEvents('sub', sub), 1, 'the sub revocation is in revocation_events');
      for (const server of [first, second!]) {
        const answer = await introspectAsAdmin(server.url, token);
        assert.ok(inactiveOrUnavailable(answer), `Redis frozen: never active:true (${server.url}: ${JSON.stringify(answer)})`);
      }
    } finally {
      thawRedis();
    }
    for (const server of [first, second!]) {
      await until(`${server.url} answers again`, async () => (await introspectAsAdmin(server.url, token)).status === 200, 10_000);
      assert.deepEqual(await introspectAsAdmin(server.url, token), { status: 200, active: false });
    }
    const retry = await send(first.url, admin, 'DELETE', `/admin/users/${encodeURIComponent(sub)}`);
    assert.equal(retry.status, 404);
    assert.deepEqual(await introspectAsAdmin(first.url, token), { status: 200, active: false }, 'the revocation is still in force');
    const feed = await FeedSubscriber.open(first.url, await feedToken(first.url));
    feed.close();
    assert.ok(feed.events.some((event) => event.kind === 'sub' && event.value === sub), 'the feed announces the revocation');
  });

  itOnPostgres('row lock + frozen Redis: DELETE /admin/clients/{id} answers 204, and its client-credentials token stops working', async () => {
    await registerClient(first.url, 'doomed-svc');
    const token = await clientToken(first.url, 'doomed-svc');
    assert.deepEqual(await introspectAsAdmin(first.url, token), { status: 200, active: true });
    const admin = await getAdminToken(first.url);
    try {
      const lock = await holdRowLock('SELECT client_id FROM clients WHERE client_id = $1 FOR UPDATE', 'doomed-svc');
      const deleted = await changeWhileRedisFreezes(lock, () => send(first.url, admin, 'DELETE', '/admin/clients/doomed-svc'));
      assert.equal(deleted.status, 204, deleted.body);
      assert.equal((await sql!.query("SELECT 1 FROM clients WHERE client_id = 'doomed-svc'")).rowCount, 0);
      assert.equal(await revocationEvents('client', 'doomed-svc'), 1, 'the client revocation is in revocation_events');
      for (const server of [first, second!]) {
        const answer = await introspectAsAdmin(server.url, token);
        assert.ok(inactiveOrUnavailable(answer), `Redis frozen: never active:true (${server.url}: ${JSON.stringify(answer)})`);
      }
    } finally {
      thawRedis();
    }
    for (const server of [first, second!]) {
      await until(`${server.url} answers again`, async () => (await introspectAsAdmin(server.url, token)).status === 200, 10_000);
      assert.deepEqual(await introspectAsAdmin(server.url, token), { status: 200, active: false });
      const again = await requestClientToken(server.url, 'doomed-svc');
      assert.equal(again.status, 401, 'a deleted client gets no new token');
    }
    const retry = await send(first.url, admin, 'DELETE', '/admin/clients/doomed-svc');
    assert.equal(retry.status, 404);
    assert.deepEqual(await introspectAsAdmin(first.url, token), { status: 200, active: false }, 'the revocation is still in force');
  });

  itOnPostgres('Postgres fails mid-change: DELETE answers 503 and changes nothing; the retry answers 204 and revokes', async () => {
    const admin = await getAdminToken(first.url);
    const sub = await createUser(first.url, admin, { username: 'mona', password });
    const token = await userToken('mona');
    assert.deepEqual(await introspectAsAdmin(first.url, token), { status: 200, active: true });

    const lock = await holdRowLock('SELECT sub FROM users WHERE sub = $1 FOR UPDATE', sub);
    const answer = send(first.url, admin, 'DELETE', `/admin/users/${encodeURIComponent(sub)}`);
    const direct = new URL(database!.url);
    let cut = false;
    try {
      try {
        await changeWaitsOnLock();
        // The change's transaction is open on the server's connection: cut it.
        await postgresProxy!.stop();
        cut = true;
        const failed = await answer;
        assert.equal(failed.status, 503, failed.body);
        assert.equal((JSON.parse(failed.body) as { error: string }).error, 'temporarily_unavailable');
      } finally {
        await lock.release();
      }
      // The transaction never committed: the user is there, and no revocation was recorded.
      assert.equal((await sql!.query('SELECT 1 FROM users WHERE sub = $1', [sub])).rowCount, 1, 'the user still exists');
      assert.equal(await revocationEvents('sub', sub), 0, 'no revocation event for it');
      assert.deepEqual(await introspectAsAdmin(second!.url, token), { status: 200, active: true }, 'nothing was revoked either');
    } finally {
      if (cut) postgresProxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) }, postgresProxy!.port);
    }
    await until('ready again', async () => (await fetch(`${first.url}/readyz`)).status === 200, 15_000);
    const retry = await send(first.url, admin, 'DELETE', `/admin/users/${encodeURIComponent(sub)}`);
    assert.equal(retry.status, 204, retry.body);
    assert.equal(await revocationEvents('sub', sub), 1);
    for (const server of [first, second!]) assert.deepEqual(await introspectAsAdmin(server.url, token), { status: 200, active: false });
  });

  it('Redis frozen before the DELETE arrives: whatever it answers, the user is never deleted without its revocation', async () => {
    const admin = await getAdminToken(first.url);
    const sub = await createUser(first.url, admin, { username: 'nora', password });
    const token = await userToken('nora');
    let answer: { status: number; body: string };
    try {
      freezeRedis();
      answer = await send(first.url, admin, 'DELETE', `/admin/users/${encodeURIComponent(sub)}`);
    } finally {
      thawRedis();
    }
    assert.ok([204, 503].includes(answer.status), `a success, or a store outage: ${answer.status} ${answer.body}`);
    await until('answers again', async () => (await introspectAsAdmin(first.url, token)).status === 200, 10_000);
    const exists = (await send(first.url, admin, 'GET', `/admin/users/${encodeURIComponent(sub)}`)).status;
    if (answer.status === 204) assert.equal(exists, 404, 'a 204 means deleted');
    const feed = await FeedSubscriber.open(first.url, await feedToken(first.url));
    feed.close();
    const announced = feed.events.some((event) => event.kind === 'sub' && event.value === sub);
    if (exists === 404) {
      // Deleted: then revoked too, recorded and announced.
      assert.deepEqual(await introspectAsAdmin(first.url, token), { status: 200, active: false });
      assert.ok(announced, 'the deletion\'s revocation is in the feed');
    } else {
      assert.equal(exists, 200);
      assert.equal(announced, false, 'not deleted: nothing revoked either (the change did not happen)');
    }
    // A retry finishes what the first call did not (or finds it done).
    const retry = await send(first.url, admin, 'DELETE', `/admin/users/${encodeURIComponent(sub)}`);
    assert.equal(retry.status, exists === 404 ? 404 : 204, retry.body);
    assert.deepEqual(await introspectAsAdmin(first.url, token), { status: 200, active: false });
    if (second) assert.deepEqual(await introspectAsAdmin(second.url, token), { status: 200, active: false });
  });

  it('secret rotation revokes the tokens the client holds as itself; the new secret works', async () => {
    await registerClient(first.url, 'rotor-svc');
    const old = await clientToken(first.url, 'rotor-svc');
    const oldSecret = secrets['rotor-svc']!;
    const admin = await getAdminToken(first.url);
    const rotated = await adminRequest(first.url, admin, 'POST', '/admin/clients/rotor-svc/secret');
    assert.equal(typeof rotated.client_secret, 'string');
    assert.notEqual(rotated.client_secret, oldSecret);
    secrets['rotor-svc'] = rotated.client_secret as string;
    assert.deepEqual(await introspectAsAdmin(first.url, old), { status: 200, active: false }, 'the old secret\'s token is revoked');
    const refused = await requestClientToken(first.url, 'rotor-svc', oldSecret);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'invalid_client');
    const fresh = await clientToken(first.url, 'rotor-svc');
    assert.deepEqual(await introspectAsAdmin(first.url, fresh), { status: 200, active: true }, 'a token bought with the new secret works');
    // And the rotation's revocation is durable: a flushed Redis does not bring the old token back.
    assert.equal(await redisCli(redisPort, 'FLUSHALL'), 'OK');
    for (const server of second ? [first, second] : [first]) {
      assert.deepEqual(await introspectAsAdmin(server.url, old), { status: 200, active: false });
      assert.deepEqual(await introspectAsAdmin(server.url, fresh), { status: 200, active: true });
    }
  });

  it(`ordering: 50 revocations at once${onPostgres ? ' from two instances' : ''}: a subscriber connected all along gets every one, no id skipped`, async () => {
    const instances = second ? [first, second] : [first];
    const clientIds = Array.from({ length: 50 }, (_, index) => `fan-${index}`);
    for (const clientId of clientIds) await registerClient(first.url, clientId);
    const tokens = await Promise.all(clientIds.map((clientId) => clientToken(first.url, clientId)));
    const subscribers = await Promise.all(instances.map(async (server) => FeedSubscriber.open(server.url, await feedToken(server.url))));
    try {
      const admins = await Promise.all(instances.map((server) => getAdminToken(server.url)));
      const answers = await Promise.all(
        clientIds.map((clientId, index) => send(instances[index % instances.length]!.url, admins[index % instances.length]!, 'POST', '/admin/revocations', { sub: clientId })),
      );
      assert.deepEqual(
        answers.map((answer) => answer.status),
        answers.map(() => 200),
      );
      for (const subscriber of subscribers) {
        await until(
          'every revocation reached the subscriber',
          async () => clientIds.every((clientId) => subscriber.live().some((event) => event.kind === 'sub' && event.value === clientId)),
          10_000,
        );
        assert.equal(subscriber.ended, false, 'the subscriber stayed connected');
        const ids = subscriber.live().map((event) => event.id);
        assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'in id order');
        assert.equal(new Set(ids).size, ids.length, 'each once');
        // No id skipped: what a fresh connection replays after the same point (read from the
        // record) is exactly what was streamed live.
        const replay = await FeedSubscriber.open(first.url, await feedToken(first.url), subscriber.readyAfter);
        replay.close();
        assert.deepEqual(replay.events.map((event) => event.id), ids, 'the live stream skipped no id of the record');
        if (sql) {
          const rows = await sql.query<{ id: string }>('SELECT id FROM revocation_events WHERE id > $1 ORDER BY id', [subscriber.readyAfter]);
          assert.deepEqual(rows.rows.map((row) => Number(row.id)), ids, 'and none of revocation_events');
        }
      }
    } finally {
      for (const subscriber of subscribers) subscriber.close();
    }
    for (const server of instances) {
      const answers = await Promise.all(tokens.map((token) => introspectAsAdmin(server.url, token)));
      assert.deepEqual(answers, answers.map(() => ({ status: 200, active: false })), `every revoked token is inactive at ${server.url}`);
    }
    assert.ok(tokens.every((token) => clientIds.includes(decodeJwt(token).sub!)));
  });
});
