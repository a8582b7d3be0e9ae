// A hung Postgres (issue #15 item 5): the server is reached through a TCP proxy that the test
// freezes — connections stay open, no byte passes — as a stopped server process or a dead
// network path looks to a client. Admin and login requests must answer 503 with Retry-After
// within about DATABASE_QUERY_TIMEOUT (3 s by default), as during a Redis outage, rather than
// hang for the old 15 s query timeout (or for ever once the pool is exhausted), and work again by
// themselves when the server answers again.
//
// It needs a real Postgres server, whichever store set-up the suite runs on: the one in
// DATABASE_URL, else the one every environment of this project has on 127.0.0.1:5432 (.ci/run).
// Twice: with Redis (REDIS_URL, else 127.0.0.1:6379) for sessions and login throttles, and
// without, when the short-lived records (the interaction being signed in) are in Postgres too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { createUser, getAdminToken, registerPublicWebClient } from '../helpers/admin.js';
import { authorizationRequest, BrowserlessUser, interactionUid, type FlowStep } from '../helpers/http-login.js';
import { createTestEnvironment, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { createPostgresDatabase, deleteRedisKeys, startTcpProxy, uniqueRedisPrefix } from '../helpers/stores.js';
import { createRedisClient } from '../../src/stores/redis-client.js';

const postgresServer = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const callback = 'https://hang.example.test/callback';
const password = 'patient password 42';
/** Generous against a loaded machine, yet far below the 15 s this used to take. */
const answerWithinMs = 6_000;

for (const setup of [
  { label: 'with Redis', redis: true },
  { label: 'short-lived records in Postgres (no Redis)', redis: false },
]) {
  describe(`a hung Postgres (frozen TCP proxy), ${setup.label}`, () => {
    let env: TestEnvironment;
    let server: TestServer;
    let database: { url: string; drop(): Promise<void> };
    let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
    const redisPrefix = uniqueRedisPrefix();

    before(async () => {
      database = await createPostgresDatabase(postgresServer);
      const direct = new URL(database.url);
      proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
      const proxied = new URL(direct);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      env = await createTestEnvironment();
      // A blank REDIS_URL is unset (src/config/index.ts), also when the suite runs with one.
      const redis: Record<string, string> = setup.redis ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: redisPrefix } : { REDIS_URL: '' };
      server = await env.start({ DATABASE_URL: proxied.toString(), ...redis });
      const admin = await getAdminToken(server.url);
      await registerPublicWebClient(server.url, admin, 'hang-web', callback);
      await createUser(server.url, admin, { username: 'hugo', password });
    });

    after(async () => {
      proxy?.thaw();
      await env?.cleanup();
      await proxy?.stop();
      await database?.drop();
      if (!setup.redis) return;
      const redis = createRedisClient(redisUrl);
      try {
        await deleteRedisKeys(redis as Redis, redisPrefix);
      } finally {
        redis.disconnect();
      }
    });

    async function loginPage(user: BrowserlessUser): Promise<FlowStep> {
      const page = await user.open(authorizationRequest(server.url, 'hang-web', callback).url);
      assert.ok(page.body.includes('name="password"'), `a login page, got ${page.status} at ${page.url}`);
      return page;
    }

    async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
      const started = performance.now();
      const result = await work();
      return { result, ms: performance.now() - started };
    }

    it('regression: requests waited for the 15 s query timeout on a hung Postgres — admin and login answer 503 with Retry-After within the query timeout, and recover after', async () => {
      const admin = await getAdminToken(server.url);
      const user = new BrowserlessUser(callback);
      const page = await loginPage(user);
      const uid = interactionUid(page)!;
      const listUsers = () => fetch(`${server.url}/admin/users`, { headers: { authorization: `Bearer ${admin}` } });

      proxy.freeze();
      // More admin requests at once than the pool has connections (10): the ones that wait for a
      // connection behind hung queries are bounded as well.
      const admins = await timed(() => Promise.all(Array.from({ length: 14 }, listUsers)));
      for (const response of admins.result) {
        assert.equal(response.status, 503);
        assert.ok(response.headers.get('retry-after'), 'Retry-After says when to come back');
        assert.equal(((await response.json()) as { error: string }).error, 'temporarily_unavailable');
      }
      assert.ok(admins.ms < answerWithinMs, `admin requests answered after ${Math.round(admins.ms)} ms`);

      const login = await timed(() => user.submit(page, `/interaction/${uid}/login`, { username: 'hugo', password }));
      assert.equal(login.result.status, 503, login.result.body.slice(0, 300));
      assert.ok(login.result.headers.get('retry-after'), 'Retry-After says when to come back');
      assert.match(login.result.body, /temporarily unavailable/);
      assert.ok(login.ms < answerWithinMs, `the login answered after ${Math.round(login.ms)} ms`);

      proxy.thaw();
      // The same requests work again by themselves: no connection that timed out is reused.
      const deadline = Date.now() + 15_000;
      let listed = await listUsers();
      while (listed.status !== 200) {
        assert.equal(listed.status, 503, 'only "try again" while recovering');
        assert.ok(Date.now() < deadline, 'admin requests work again within 15 s of the thaw');
        await sleep(100);
        listed = await listUsers();
      }
      const users = (await listed.json()) as { items: { username: string }[] };
      assert.ok(users.items.some((item) => item.username === 'hugo'));
      const again = await user.submit(page, `/interaction/${uid}/login`, { username: 'hugo', password });
      assert.notEqual(again.status, 503, again.body.slice(0, 300));
      const done = again.location?.startsWith(callback)
        ? again
        : await user.submit(again, `/interaction/${interactionUid(again)!}/consent`, { decision: 'allow' });
      assert.ok(done.location?.startsWith(callback), `signed in after the thaw, got ${done.status} at ${done.url}`);
      assert.ok(new URL(done.location!).searchParams.get('code'), 'an authorization code');
    });
  });
}
