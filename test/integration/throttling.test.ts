// Throttling: login failures lock a username+IP pair (the same way for unknown usernames, so
// nothing is revealed) and hold under parallel attempts and a flushed Redis, the token endpoint and the admin API answer 429 over their rates, and
// the audit trail records logins, failures and lockouts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminRequest, basicAuth, createUser, getAdminToken, registerPublicWebClient } from '../helpers/admin.js';
import { BrowserlessUser, type FlowStep } from '../helpers/http-login.js';
import { callback, startLogin } from '../helpers/mfa-flow.js';
import { createTestEnvironment, realStores, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { deleteRedisKeys } from '../helpers/stores.js';
import { createRedisClient } from '../../src/stores/redis-client.js';
import type { Redis } from 'ioredis';

const password = 'the right password';

describe(`throttling (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: string;

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start({ LOGIN_MAX_FAILURES: '3', TOKEN_REQUESTS_PER_IP: '20', ADMIN_REQUESTS_PER_IP: '40' });
    admin = await getAdminToken(server.url);
    await registerPublicWebClient(server.url, admin, 'throttled-web', callback);
    await createUser(server.url, admin, { username: 'ivy', password });
  });
  after(() => env.cleanup());

  function loginPage(user: BrowserlessUser): Promise<{ page: FlowStep; uid: string }> {
    return startLogin(server.url, 'throttled-web', { user });
  }

  async function attempts(username: string, secrets: string[]): Promise<FlowStep[]> {
    const user = new BrowserlessUser(callback);
    let { page, uid } = await loginPage(user);
    const answers: FlowStep[] = [];
    for (const secret of secrets) {
      page = await user.submit(page, `/interaction/${uid}/login`, { username, password: secret });
      answers.push(page);
      if (page.location?.startsWith(callback)) ({ page, uid } = await loginPage(user));
    }
    return answers;
  }

  it('locks a username after LOGIN_MAX_FAILURES failures, even for the right password', async () => {
    const answers = await attempts('ivy', ['wrong 1', 'wrong 2', 'wrong 3', password]);
    for (const answer of answers.slice(0, 3)) {
      assert.equal(answer.status, 200);
      assert.match(answer.body, /Invalid username or password\./);
    }
    const locked = answers[3]!;
    assert.equal(locked.status, 429);
    assert.match(locked.body, /Too many attempts\. Try again in <time datetime="PT900S">15 minutes<\/time>\./);
    assert.equal(locked.headers.get('retry-after'), '900', 'the whole lock, LOGIN_LOCK_SECONDS');
    assert.equal(locked.location, undefined, 'no code while locked');
  });

  it('treats an unknown username exactly like a known one', async () => {
    const answers = await attempts('nobody-here', ['wrong 1', 'wrong 2', 'wrong 3', 'wrong 4']);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 200, 429],
    );
  });

  it('records logins, failures and the lockout in the audit trail', async () => {
    const page = await adminRequest(server.url, admin, 'GET', '/admin/events?limit=200');
    const types = (page.items as { type: string }[]).map((event) => event.type);
    for (const type of ['login_failed', 'login_locked', 'login_throttled']) assert.ok(types.includes(type), `${type} in ${types.join(',')}`);
    assert.ok(!JSON.stringify(page.items).includes(password), 'no password in the trail');
  });

  it('answers 429 slow_down with Retry-After over the token endpoint rate', async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, () =>
        fetch(`${server.url}/token`, {
          method: 'POST',
          headers: { authorization: basicAuth('nobody', 'nothing') },
          body: new URLSearchParams({ grant_type: 'client_credentials' }),
        }),
      ),
    );
    const throttled = answers.filter((answer) => answer.status === 429);
    assert.ok(throttled.length > 0, 'some requests were throttled');
    // The library serves /TOKEN/ as the token endpoint too; it counts against the same limit.
    const disguised = await fetch(`${server.url}/TOKEN/`, {
      method: 'POST',
      headers: { authorization: basicAuth('nobody', 'nothing') },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    assert.equal(disguised.status, 429);
    assert.ok(Number(throttled[0]!.headers.get('retry-after')) >= 1);
    assert.equal(((await throttled[0]!.json()) as { error: string }).error, 'slow_down');
    assert.ok(answers.every((answer) => answer.status < 500));
  });

  it('answers 429 over the admin API rate', async () => {
    const answers = await Promise.all(
      Array.from({ length: 80 }, () => fetch(`${server.url}/admin/clients`, { headers: { authorization: `Bearer ${admin}` } })),
    );
    assert.ok(answers.some((answer) => answer.status === 429));
    assert.ok(answers.every((answer) => answer.status < 500));
  });
});

describe(`login lockout under parallel attempts (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: string;

  before(async () => {
    env = await createTestEnvironment();
    // TRUST_PROXY: each test is a client at its own (documentation) address.
    server = await env.start({ LOGIN_MAX_FAILURES: '5', LOGIN_MAX_FAILURES_PER_IP: '10', TRUST_PROXY: 'true' });
    admin = await getAdminToken(server.url);
    await registerPublicWebClient(server.url, admin, 'parallel-web', callback);
    await createUser(server.url, admin, { username: 'pia', password });
  });
  after(() => env.cleanup());

  function loginForm(ip: string): Promise<{ user: BrowserlessUser; page: FlowStep; uid: string }> {
    return startLogin(server.url, 'parallel-web', { user: new BrowserlessUser(callback, { 'x-forwarded-for': ip }) });
  }

  /** Posts every (username, password) pair at once into one login form. */
  async function burst(ip: string, attempts: { username: string; password: string }[]): Promise<FlowStep[]> {
    const { user, page, uid } = await loginForm(ip);
    return Promise.all(attempts.map((fields) => user.submit(page, `/interaction/${uid}/login`, fields)));
  }

  /** The password checks that ran: each wrong one is a login_failed event with the address. */
  async function passwordChecks(ip: string): Promise<number> {
    const events = await adminRequest(server.url, admin, 'GET', '/admin/events?type=login_failed&limit=200');
    return (events.items as { details: { ip?: string } }[]).filter((event) => event.details.ip === ip).length;
  }

  function assertRefusedWithRetryAfter(answers: FlowStep[], allowed: number): void {
    assert.ok(answers.every((answer) => answer.status === 200 || answer.status === 429), answers.map((answer) => answer.status).join(','));
    const checked = answers.filter((answer) => answer.status === 200);
    assert.ok(checked.length >= 1 && checked.length <= allowed, `${checked.length} reached the password check`);
    for (const answer of checked) assert.match(answer.body, /Invalid username or password\./);
    for (const answer of answers.filter((refused) => refused.status === 429)) {
      assert.ok(Number(answer.headers.get('retry-after')) >= 1);
      assert.match(answer.body, /Too many attempts\. Try again in/);
    }
  }

  it('regression: parallel guesses pass the login lockout — 30 concurrent wrong passwords for one username and IP: at most LOGIN_MAX_FAILURES reach the check, the rest 429', async () => {
    const ip = '203.0.113.10';
    const answers = await burst(ip, Array.from({ length: 30 }, (_, index) => ({ username: 'pia', password: `wrong ${index}` })));
    assertRefusedWithRetryAfter(answers, 5);
    assert.ok((await passwordChecks(ip)) <= 5, 'argon2 ran at most five times');
    // The pair is locked, even for the right password; the same user from elsewhere is not.
    const [locked] = await burst(ip, [{ username: 'pia', password }]);
    assert.equal(locked!.status, 429);
    const [elsewhere] = await burst('203.0.113.11', [{ username: 'pia', password }]);
    assert.ok(elsewhere!.location?.startsWith(callback), `signed in from another address: ${elsewhere!.status}`);
  });

  it('regression: parallel guesses pass the per-IP lockout — 30 concurrent wrong passwords for 30 usernames from one IP: at most LOGIN_MAX_FAILURES_PER_IP reach the check', async () => {
    const ip = '203.0.113.20';
    const answers = await burst(ip, Array.from({ length: 30 }, (_, index) => ({ username: `someone-${index}`, password: 'wrong' })));
    assertRefusedWithRetryAfter(answers, 10);
    assert.ok((await passwordChecks(ip)) <= 10);
  });

  it('regression: a look-alike spelling of a username is the same throttle counter (normalizeUsername)', async () => {
    const ip = '203.0.113.30';
    const { user, page, uid } = await loginForm(ip);
    let current = page;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      current = await user.submit(current, `/interaction/${uid}/login`, { username: 'pia', password: `wrong ${attempt}` });
      assert.equal(current.status, 200);
    }
    // Fullwidth letters and another case: NFKC + case fold make them "pia".
    const disguised = await user.submit(current, `/interaction/${uid}/login`, { username: 'ＰＩＡ', password });
    assert.equal(disguised.status, 429);
  });

  if (realStores) {
    it('regression: parallel guesses pass the login lockout — after a Redis flushed empty the counters restart, without a 5xx, and hold again', async () => {
      const ip = '203.0.113.40';
      assertRefusedWithRetryAfter(await burst(ip, Array.from({ length: 10 }, () => ({ username: 'pia', password: 'wrong' }))), 5);
      const redis = createRedisClient(process.env.REDIS_URL as string);
      try {
        assert.ok((await deleteRedisKeys(redis as Redis, server.config.redisKeyPrefix)) > 0);
      } finally {
        redis.disconnect();
      }
      const answers = await burst(ip, Array.from({ length: 30 }, (_, index) => ({ username: 'pia', password: `wrong ${index}` })));
      assertRefusedWithRetryAfter(answers, 5);
    });
  }
});

describe(`per-client token rate (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let secret: string;
  const api = 'https://rate.api.test';

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start({ TOKEN_REQUESTS_PER_CLIENT: '5' });
    const admin = await getAdminToken(server.url);
    await adminRequest(server.url, admin, 'POST', '/admin/resources', { identifier: api, scopes: ['rate.read'] });
    const client = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: 'rated-service',
      grant_types: ['client_credentials'],
      scope: 'rate.read',
    });
    secret = client.client_secret as string;
  });
  after(() => env.cleanup());

  const tokenAs = (presentedSecret: string) =>
    fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth('rated-service', presentedSecret) },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: api }),
    });

  // RFC 6749 §2.3: only the client's own authenticated requests spend its budget.
  it('is not spent by requests that present the client id with a wrong secret', async () => {
    for (let attempt = 0; attempt < 8; attempt += 1) assert.equal((await tokenAs('not-the-secret')).status, 401);
    assert.equal((await tokenAs(secret)).status, 200, 'the real client still gets its token');
  });

  it('refuses the client with 429 slow_down once its own requests have spent it', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt += 1) statuses.push((await tokenAs(secret)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429], 'exactly five within the window (one was spent above)');
    const refused = await tokenAs(secret);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(((await refused.json()) as { error: string }).error, 'slow_down');
  });
});

if (process.env.DATABASE_URL) {
  describe('login throttling on Postgres without Redis', () => {
    let env: TestEnvironment;
    let server: TestServer;
    before(async () => {
      env = await createTestEnvironment();
      server = await env.start({ REDIS_URL: '', LOGIN_MAX_FAILURES: '2' });
      const admin = await getAdminToken(server.url);
      await adminRequest(server.url, admin, 'POST', '/admin/clients', {
        client_id: 'pg-web',
        grant_types: ['authorization_code'],
        redirect_uris: [callback],
        token_endpoint_auth_method: 'none',
        scope: 'openid',
      });
    });
    after(() => env.cleanup());

    it('counts failures in Postgres and locks after LOGIN_MAX_FAILURES', async () => {
      const started = await startLogin(server.url, 'pg-web');
      const { user, uid } = started;
      let page = started.page;
      const statuses: number[] = [];
      for (const secret of ['wrong 1', 'wrong 2', 'wrong 3']) {
        page = await user.submit(page, `/interaction/${uid}/login`, { username: 'someone', password: secret });
        statuses.push(page.status);
      }
      assert.deepEqual(statuses, [200, 200, 429]);
    });

    it('regression: parallel guesses pass the login lockout — on RateLimiterPostgres too, 30 concurrent wrong passwords reach the check at most LOGIN_MAX_FAILURES times', async () => {
      const { user, page, uid } = await startLogin(server.url, 'pg-web');
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, index) => user.submit(page, `/interaction/${uid}/login`, { username: 'parallel-pg', password: `wrong ${index}` })),
      );
      const statuses = answers.map((answer) => answer.status);
      assert.ok(statuses.every((status) => status === 200 || status === 429), statuses.join(','));
      const checked = statuses.filter((status) => status === 200).length;
      assert.ok(checked >= 1 && checked <= 2, `${checked} reached the password check`);
    });
  });
}
