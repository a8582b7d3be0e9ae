// Behind proxies (TRUST_PROXY=true): the client address is the X-Forwarded-For entry
// TRUST_PROXY_HOPS places from the right, the one our nearest trusted proxy wrote. Entries further
// left were written by the client and must not make a locked address look like a new one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminRequest, createUser, getAdminToken, registerPublicWebClient } from '../helpers/admin.js';
import type { FlowStep } from '../helpers/http-login.js';
import { callback, startLogin } from '../helpers/mfa-flow.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';

const password = 'the right password';
const maxFailuresPerIp = 3;

async function startBehindProxies(env: TestEnvironment, hops: string): Promise<{ server: TestServer; admin: string }> {
  const server = await env.start({
    TRUST_PROXY: 'true',
    TRUST_PROXY_HOPS: hops,
    LOGIN_MAX_FAILURES: '100',
    LOGIN_MAX_FAILURES_PER_IP: String(maxFailuresPerIp),
  });
  const admin = await getAdminToken(server.url);
  await registerPublicWebClient(server.url, admin, `proxied-web-${hops}`, callback);
  await createUser(server.url, admin, { username: `ursula-${hops}`, password });
  return { server, admin };
}

/** One password attempt, sent as if through proxies that wrote `forwardedFor`. */
async function attemptLogin(server: TestServer, hops: string, forwardedFor: string, username: string, secret: string): Promise<FlowStep> {
  const { user, page, uid } = await startLogin(server.url, `proxied-web-${hops}`);
  const csrf = /name="csrf" value="([^"]*)"/.exec(page.body)?.[1];
  assert.ok(csrf, `a login form, got ${page.status} at ${page.url}`);
  return user.request(`${server.url}/interaction/${uid}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
    body: new URLSearchParams({ csrf, username, password: secret }).toString(),
  });
}

/** Wrong passwords, each for a different username, so only the per-IP counter adds up. */
async function failFromEveryAddress(server: TestServer, hops: string, forwardedFor: (attempt: number) => string): Promise<void> {
  for (let attempt = 0; attempt < maxFailuresPerIp; attempt += 1) {
    const answer = await attemptLogin(server, hops, forwardedFor(attempt), `nobody-${hops}-${attempt}`, 'wrong');
    assert.equal(answer.status, 200, `failure ${attempt + 1} is an ordinary refusal`);
  }
}

/** The addresses the audit trail recorded for failFromEveryAddress's failures. */
async function loggedIps(server: TestServer, admin: string, hops: string): Promise<string[]> {
  const page = await adminRequest(server.url, admin, 'GET', '/admin/events?limit=200');
  return (page.items as { type: string; details?: { ip?: string; username?: string } }[])
    .filter((event) => event.type === 'login_failed' && event.details?.username?.startsWith(`nobody-${hops}-`))
    .map((event) => event.details?.ip ?? '');
}

describe(`trusting proxies (${storesLabel})`, () => {
  let env: TestEnvironment;
  before(async () => {
    env = await createTestEnvironment();
  });
  after(() => env.cleanup());

  it('regression: TRUST_PROXY trusted the client’s own X-Forwarded-For entries — with one hop, invented first entries do not dodge a per-IP lock', async () => {
    const { server, admin } = await startBehindProxies(env, '1');
    await failFromEveryAddress(server, '1', (attempt) => `10.9.8.${attempt + 1}, 198.51.100.23`);
    assert.deepEqual(await loggedIps(server, admin, '1'), Array(maxFailuresPerIp).fill('198.51.100.23'), 'the address the proxy appended');

    const dodge = await attemptLogin(server, '1', '10.9.8.7, 198.51.100.23', 'ursula-1', password);
    assert.equal(dodge.status, 429, 'the right password from the locked address, with a new first entry, is refused');
    assert.equal(dodge.location, undefined, 'no code');
    const inventedChain = await attemptLogin(server, '1', '203.0.113.1, 10.0.0.1, 198.51.100.23', 'ursula-1', password);
    assert.equal(inventedChain.status, 429);

    // Another client behind the same proxy is not locked (the address is not the proxy's own).
    const neighbour = await attemptLogin(server, '1', '198.51.100.23, 198.51.100.24', 'ursula-1', password);
    assert.equal(neighbour.status, 303, 'a different rightmost entry is a different client');
    assert.match(neighbour.location ?? '', /^http/);
  });

  it('regression: with TRUST_PROXY_HOPS=2 the client is the second entry from the right', async () => {
    const { server, admin } = await startBehindProxies(env, '2');
    // Outer proxy appends the client (198.51.100.77), the inner one the outer proxy's address.
    await failFromEveryAddress(server, '2', (attempt) => `10.9.8.${attempt + 1}, 198.51.100.77, 192.0.2.${attempt + 10}`);
    assert.deepEqual(await loggedIps(server, admin, '2'), Array(maxFailuresPerIp).fill('198.51.100.77'));

    const dodge = await attemptLogin(server, '2', '10.9.8.99, 198.51.100.77, 192.0.2.99', 'ursula-2', password);
    assert.equal(dodge.status, 429, 'the same client through another outer proxy, with a new first entry, is still locked');
    const other = await attemptLogin(server, '2', '198.51.100.77, 198.51.100.78, 192.0.2.10', 'ursula-2', password);
    assert.equal(other.status, 303, 'a different second-from-right entry is a different client');
  });
});
