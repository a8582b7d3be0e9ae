// Issue #15 item 1: losing Redis data never revives a revocation. Revocation state is recorded in
// Postgres; Redis holds a copy that a check trusts only while it is complete
// (src/revocation/revocations.ts). Here a dedicated redis-server, on its own port, is flushed,
// replaced by an empty one and flushed under load, with tokens revoked every way there is
// (by jti through RFC 7009 and the admin API, by sub, by client_id, by grant through the admin
// API and through RFC 7009 revocation of a refresh token): introspection (RFC 7662) must never
// say `active: true` for any of them again, must agree with the revocation feed (which reads
// Postgres), and the copy must be rebuilt (its completeness key back) by itself.
// Postgres is the DATABASE_URL server when it is set, else the embedded PGlite; two instances
// need a Postgres both can reach, so that case runs on DATABASE_URL only.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { adminRequest, basicAuth, createUser, getAdminToken, introspectAsAdmin } from '../helpers/admin.js';
import { clientCredentialsToken } from '../helpers/http-support.js';
import { readEventStream } from '../helpers/event-stream.js';
import { authorizationRequest, BrowserlessUser } from '../helpers/http-login.js';
import { createTestEnvironment, freePort, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { createPostgresDatabase, redisCli, startRedisServer, type TestRedisServer } from '../helpers/stores.js';
import { until } from '../helpers/wait.js';

const api = 'https://vault.api.test';
const callback = 'https://vault-web.example.test/callback';
const password = 'never revived password';
const onPostgres = Boolean(process.env.DATABASE_URL);
const label = onPostgres ? 'Postgres + dedicated Redis' : 'embedded PGlite + dedicated Redis';

interface FeedEvent {
  id: number;
  kind: string;
  value: string;
  revoked_at_ms: number;
}

/** The feed's whole current state: every unexpired event up to `event: ready` (from Postgres). */
async function readFeed(url: string, token: string): Promise<FeedEvent[]> {
  const response = await fetch(`${url}/revocations`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  const events: FeedEvent[] = [];
  for await (const event of readEventStream(response)) {
    // Leaving the loop cancels the stream.
    if (event.event === 'ready') return events;
    if (event.event === 'revocation') events.push({ id: Number(event.id), ...(JSON.parse(event.data!) as Omit<FeedEvent, 'id'>) });
  }
  assert.fail('the feed ended before ready');
}

/**
 * Whether the feed's events revoke a token, by the feed's documented rules (feed-routes.ts):
 * its jti listed, or its sub / client_id / gid revoked at or after its issue time in ms.
 */
function feedRevokes(events: FeedEvent[], token: string): boolean {
  const claims = decodeJwt(token) as { jti: string; sub: string; client_id: string; gid?: string; iat: number; iat_ms?: number };
  const second = claims.iat * 1000;
  const issuedAt = typeof claims.iat_ms === 'number' && claims.iat_ms >= second && claims.iat_ms < second + 1000 ? claims.iat_ms : second;
  return events.some(
    (event) =>
      (event.kind === 'jti' && event.value === claims.jti) ||
      (event.revoked_at_ms >= issuedAt &&
        ((event.kind === 'sub' && event.value === claims.sub) ||
          (event.kind === 'client' && event.value === claims.client_id) ||
          (event.kind === 'grant' && event.value === claims.gid))),
  );
}

describe(`losing Redis data never revives a revocation (${label})`, () => {
  let env: TestEnvironment;
  let database: { url: string; drop(): Promise<void> } | undefined;
  let first: TestServer;
  let second: TestServer | undefined;
  let redis: TestRedisServer;
  let redisPort: number;
  let redisDir: string;
  let completenessKey: string;
  const secrets: Record<string, string> = {};
  /** Revoked tokens by how they were revoked. */
  const revoked: Record<string, string> = {};
  /** Tokens nothing revoked. */
  const live: Record<string, string> = {};

  const clientToken = (url: string, clientId: string, resource = api) =>
    clientCredentialsToken(url, { clientId, clientSecret: secrets[clientId]!, params: { resource } });

  /** A browserless login of `username` to vault-web: its JWT access token for the API and refresh token. */
  async function login(username: string): Promise<{ access: string; refresh: string }> {
    const request = authorizationRequest(first.issuer, 'vault-web', callback, {
      scope: 'openid offline_access vault.read',
      resource: api,
      prompt: 'consent',
    });
    const redirect = await new BrowserlessUser(callback).authorize(request.url, username, password);
    const response = await fetch(`${first.url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth('vault-web', secrets['vault-web']!) },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: redirect.searchParams.get('code')!,
        code_verifier: request.verifier,
        redirect_uri: callback,
        resource: api,
      }),
    });
    const body = (await response.json()) as { access_token?: string; refresh_token?: string };
    assert.ok(body.access_token && body.refresh_token, JSON.stringify(body));
    return { access: body.access_token, refresh: body.refresh_token };
  }

  const feedToken = () => clientToken(first.url, 'vault-api', `${first.issuer}/revocations`);
  const servers = () => (second ? [first, second] : [first]);

  /** Every revoked token answers active:false, every live one active:true, on every instance. */
  async function assertRevocationsHold(when: string): Promise<void> {
    for (const server of servers()) {
      for (const [how, token] of Object.entries(revoked)) {
        assert.deepEqual(await introspectAsAdmin(server.url, token), { status: 200, active: false }, `${when}: revoked by ${how}, at ${server.url}`);
      }
      for (const [what, token] of Object.entries(live)) {
        assert.deepEqual(await introspectAsAdmin(server.url, token), { status: 200, active: true }, `${when}: ${what} stays active, at ${server.url}`);
      }
    }
  }

  /** During an outage: every revoked token answers 503 or active:false (never active:true), all asked at once. */
  async function assertRevokedOrUnavailable(when: string): Promise<void> {
    const asked = servers().flatMap((server) => Object.entries(revoked).map(async ([how, token]) => ({ how, answer: await introspectAsAdmin(server.url, token) })));
    for (const { how, answer } of await Promise.all(asked)) {
      assert.ok(answer.status === 503 || (answer.status === 200 && answer.active === false), `${when}, revoked by ${how}: ${JSON.stringify(answer)}`);
    }
  }

  const copyRebuilt = async () => (await redisCli(redisPort, 'EXISTS', completenessKey)) === '1';

  before(async () => {
    env = await createTestEnvironment();
    redisPort = await freePort();
    redisDir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-redis-'));
    redis = await startRedisServer(redisPort, redisDir);
    const stores: Record<string, string> = { REDIS_URL: `redis://127.0.0.1:${redisPort}` };
    if (onPostgres) {
      database = await createPostgresDatabase();
      stores.DATABASE_URL = database.url;
    }
    first = await env.start(stores);
    if (onPostgres) second = await env.start({ ...stores, ISSUER: first.issuer });
    completenessKey = `${first.config.redisKeyPrefix}{revoked}:complete-up-to`;

    const admin = await getAdminToken(first.url);
    await adminRequest(first.url, admin, 'POST', '/admin/resources', { identifier: api, scopes: ['vault.read'] });
    for (const clientId of ['vault-api', 'svc-jti', 'svc-admin-jti', 'svc-client', 'svc-live', 'svc-pair']) {
      const created = await adminRequest(first.url, admin, 'POST', '/admin/clients', {
        client_id: clientId,
        grant_types: ['client_credentials'],
        ...(clientId === 'vault-api' ? {} : { scope: 'vault.read' }),
      });
      secrets[clientId] = created.client_secret as string;
    }
    // vault-api acts for the API, so it may read the revocation feed.
    await adminRequest(first.url, admin, 'PUT', `/admin/resources/${encodeURIComponent(api)}`, { scopes: ['vault.read'], client_id: 'vault-api' });
    const web = await adminRequest(first.url, admin, 'POST', '/admin/clients', {
      client_id: 'vault-web',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [callback],
      scope: 'openid offline_access vault.read',
      first_party: true,
    });
    secrets['vault-web'] = web.client_secret as string;
    const jackSub = await createUser(first.url, admin, { username: 'jack', password });
    await createUser(first.url, admin, { username: 'ivy', password });

    // One token per way of revoking, and tokens that must stay alive beside them.
    revoked['jti (RFC 7009)'] = await clientToken(first.url, 'svc-jti');
    revoked['jti (admin API)'] = await clientToken(first.url, 'svc-admin-jti');
    revoked['client_id'] = await clientToken(first.url, 'svc-client');
    revoked['sub'] = (await login('jack')).access;
    const byGrant = await login('ivy');
    revoked['grant_id (admin API)'] = byGrant.access;
    const byRefresh = await login('ivy');
    revoked['grant (RFC 7009 of its refresh token)'] = byRefresh.access;
    live['an unrevoked client token'] = await clientToken(first.url, 'svc-live');
    live['the same user under another grant'] = (await login('ivy')).access;
    live['the same client as a revoked jti'] = await clientToken(first.url, 'svc-admin-jti');
    for (const [what, token] of Object.entries({ ...revoked, ...live })) {
      assert.deepEqual(await introspectAsAdmin(first.url, token), { status: 200, active: true }, `${what}: active before any revocation`);
    }

    const rfc7009 = await fetch(`${first.url}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basicAuth('svc-jti', secrets['svc-jti']!) },
      body: new URLSearchParams({ token: revoked['jti (RFC 7009)'] }),
    });
    assert.equal(rfc7009.status, 200);
    // RFC 7009 §2.1: revoking a refresh token revokes its grant, and with it the grant's access tokens.
    const refreshRevocation = await fetch(`${first.url}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basicAuth('vault-web', secrets['vault-web']) },
      body: new URLSearchParams({ token: byRefresh.refresh, token_type_hint: 'refresh_token' }),
    });
    assert.equal(refreshRevocation.status, 200);
    const gid = decodeJwt(byGrant.access).gid;
    assert.equal(typeof gid, 'string', 'a user access token names its grant (gid)');
    // Through the second instance where there is one: revocations reach every instance.
    const revoker = second ?? first;
    const revokerAdmin = await getAdminToken(revoker.url);
    await adminRequest(revoker.url, revokerAdmin, 'POST', '/admin/revocations', { jti: decodeJwt(revoked['jti (admin API)']).jti });
    await adminRequest(revoker.url, revokerAdmin, 'POST', '/admin/revocations', { client_id: 'svc-client' });
    await adminRequest(revoker.url, revokerAdmin, 'POST', '/admin/revocations', { sub: jackSub });
    await adminRequest(revoker.url, revokerAdmin, 'POST', '/admin/revocations', { grant_id: gid });
  });

  after(async () => {
    await env?.cleanup();
    await database?.drop();
    await redis?.stop();
    if (redisDir) await fs.rm(redisDir, { recursive: true, force: true });
  });

  it('introspection says active:false for every revoked token, and the feed agrees with it', async () => {
    await assertRevocationsHold('with the copy intact');
    const events = await readFeed(first.url, await feedToken());
    for (const [what, token] of Object.entries({ ...revoked, ...live })) {
      assert.equal(feedRevokes(events, token), what in revoked, `the feed and introspection agree on: ${what}`);
    }
    assert.ok(await copyRebuilt(), 'the copy says how complete it is');
  });

  it('after FLUSHALL: still active:false for every revoked token (never active:true), and the copy is rebuilt', async () => {
    assert.equal(await redisCli(redisPort, 'FLUSHALL'), 'OK');
    // At once, before the relay has rebuilt anything: the check finds no completeness mark and
    // asks Postgres. All at once, so most of them run before any rebuild could finish.
    const answers = await Promise.all(servers().flatMap((server) => Object.values(revoked).map((token) => introspectAsAdmin(server.url, token))));
    assert.deepEqual(answers, answers.map(() => ({ status: 200, active: false })));
    await assertRevocationsHold('right after FLUSHALL');
    const events = await readFeed(first.url, await feedToken());
    for (const [what, token] of Object.entries({ ...revoked, ...live })) {
      assert.equal(feedRevokes(events, token), what in revoked, `after FLUSHALL the feed and introspection agree on: ${what}`);
    }
    await until('the copy is rebuilt after FLUSHALL', copyRebuilt, 10_000);
    await assertRevocationsHold('once the copy is rebuilt');
  });

  it('a Redis replaced by an empty one: 503 or active:false during the outage, active:false after, the copy rebuilt', async () => {
    await redis.stop();
    await assertRevokedOrUnavailable('Redis down');
    redis = await startRedisServer(redisPort, redisDir);
    assert.equal(await redisCli(redisPort, 'DBSIZE'), '0', 'the new Redis is empty');
    // While the servers reconnect and the copy is rebuilt: never active:true.
    const deadline = Date.now() + 15_000;
    while (!(await copyRebuilt())) {
      assert.ok(Date.now() < deadline, 'the copy is rebuilt in the new Redis within 15 s');
      await assertRevokedOrUnavailable('new Redis, copy not yet rebuilt');
      await sleep(50);
    }
    // The servers may still be reconnecting (the copy was rebuilt by one of them): live tokens
    // answer from Redis, so wait for each server to answer 200 again.
    for (const server of servers()) {
      await until(`${server.url} answers again`, async () => (await introspectAsAdmin(server.url, Object.values(live)[0]!)).status === 200, 10_000);
    }
    await assertRevocationsHold('in the replacement Redis');
  });

  it('under load: 200 introspections of revoked tokens while Redis is flushed again and again, none active:true', async () => {
    const tokens = Object.values(revoked);
    const pending: Promise<{ status: number; active?: boolean }>[] = [];
    const flushes: Promise<string>[] = [];
    for (let round = 0; round < 20; round += 1) {
      if (round % 4 === 0) flushes.push(redisCli(redisPort, 'FLUSHALL'));
      for (let index = 0; index < 10; index += 1) {
        const server = servers()[(round + index) % servers().length]!;
        pending.push(introspectAsAdmin(server.url, tokens[(round * 10 + index) % tokens.length]!));
      }
      await sleep(75);
    }
    assert.deepEqual(await Promise.all(flushes), flushes.map(() => 'OK'));
    const answers = await Promise.all(pending);
    const revived = answers.filter((answer) => answer.active === true).length;
    assert.equal(revived, 0, 'no revoked token accepted while Redis lost its data');
    // Postgres stayed up, so every check could be answered from the record.
    assert.deepEqual(
      answers.filter((answer) => answer.status !== 200),
      [],
      'a flushed Redis is not an outage: every check answered from Postgres',
    );
    assert.equal(answers.length, 200);
    await until('the copy is rebuilt after the flushes', copyRebuilt, 10_000);
    await assertRevocationsHold('after the flushes under load');
  });

  // Two instances need one Postgres both can reach (DATABASE_URL; the embedded PGlite belongs to
  // one process): this runs in CI's Postgres + Redis pass.
  if (onPostgres) it(
    'two instances: revoked on one, Redis flushed, refused on the other at once',
    async () => {
      const other = second!;
      const token = await clientToken(other.url, 'svc-pair');
      const sibling = await clientToken(first.url, 'svc-pair');
      assert.deepEqual(await introspectAsAdmin(other.url, token), { status: 200, active: true });
      const admin = await getAdminToken(first.url);
      await adminRequest(first.url, admin, 'POST', '/admin/revocations', { jti: decodeJwt(token).jti });
      assert.equal(await redisCli(redisPort, 'FLUSHALL'), 'OK');
      assert.deepEqual(await introspectAsAdmin(other.url, token), { status: 200, active: false }, 'revoked on the first, refused on the second after FLUSHALL');
      assert.deepEqual(await introspectAsAdmin(first.url, token), { status: 200, active: false });
      assert.deepEqual(await introspectAsAdmin(other.url, sibling), { status: 200, active: true }, 'only that token');

      // The other way round, with the flush right behind the revocation (before the first
      // instance could have heard of it through the NOTIFY), and once more after it answered.
      const otherAdmin = await getAdminToken(other.url);
      const [, flushed] = await Promise.all([
        adminRequest(other.url, otherAdmin, 'POST', '/admin/revocations', { client_id: 'svc-pair' }),
        sleep(0).then(() => redisCli(redisPort, 'FLUSHALL')),
      ]);
      assert.equal(flushed, 'OK');
      assert.equal(await redisCli(redisPort, 'FLUSHALL'), 'OK');
      for (const server of [first, other]) {
        assert.deepEqual(await introspectAsAdmin(server.url, sibling), { status: 200, active: false }, `client revoked on the second, refused at ${server.url}`);
      }
      await until('the copy is rebuilt', copyRebuilt, 10_000);
      for (const server of [first, other]) {
        assert.deepEqual(await introspectAsAdmin(server.url, sibling), { status: 200, active: false });
        assert.deepEqual(await introspectAsAdmin(server.url, token), { status: 200, active: false });
      }
      await assertRevocationsHold('after the two-instance flushes');
    },
  );
});
