// TOTP second factor: enrolment (QR code, secret, recovery codes), codes accepted once,
// recovery codes, amr/acr in the ID token, per-user and per-client requirement, admin reset;
// attempt limits (per user, per IP, per interaction) and enrolment that survives a wrong code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { generate } from 'otplib';
import { adminRequest, basicAuth, createUser, getAdminToken, registerPublicWebClient } from '../helpers/admin.js';
import { BrowserlessUser, type FlowStep } from '../helpers/http-login.js';
import { createTestEnvironment, realStores, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { Authenticator, callback, enrolThrough, readEnrolment, redeemIdToken, startAuthorization, startLogin } from '../helpers/mfa-flow.js';
import { deleteRedisKeys } from '../helpers/stores.js';
import { createRedisClient } from '../../src/stores/redis-client.js';
import type { Redis } from 'ioredis';

const password = 'second factor password';

describe(`TOTP second factor (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: string;
  let secret: string;
  let sub: string;
  let totpSecret: string;
  let recoveryCodes: string[];

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    admin = await getAdminToken(server.url);
    const client = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: 'mfa-web',
      grant_types: ['authorization_code'],
      redirect_uris: [callback],
      scope: 'openid',
      first_party: true,
    });
    secret = client.client_secret as string;
    await registerPublicWebClient(server.url, admin, 'strict-web', callback, { require_mfa: true });
    sub = await createUser(server.url, admin, { username: 'jo', password, mfa_required: true });
    await createUser(server.url, admin, { username: 'kim', password });
  });
  after(() => env.cleanup());

  async function redeem(step: FlowStep, verifier: string): Promise<Record<string, unknown>> {
    assert.ok(step.location?.startsWith(callback), `back at the client: ${step.status} ${step.body.slice(0, 200)}`);
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth('mfa-web', secret) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: new URL(step.location!).searchParams.get('code')!, code_verifier: verifier, redirect_uri: callback }),
    });
    const body = (await response.json()) as { id_token?: string };
    assert.ok(body.id_token, JSON.stringify(body));
    return decodeJwt(body.id_token);
  }

  it('enrols a user who must use a second factor: QR code, secret, recovery codes, then a code', async () => {
    const { user, page, uid, verifier } = await startLogin(server.url, 'mfa-web');
    const enrol = await user.submit(page, `/interaction/${uid}/login`, { username: 'jo', password });
    assert.equal(enrol.status, 200);
    assert.match(enrol.body, /<svg/, 'a QR code, inline');
    totpSecret = /<code class="secret">([A-Z2-7]+)<\/code>/.exec(enrol.body)![1]!;
    recoveryCodes = [...enrol.body.matchAll(/<li><code>([A-Z0-9-]{19})<\/code><\/li>/g)].map((match) => match[1]!);
    assert.equal(recoveryCodes.length, 10);

    const wrong = await user.submit(enrol, `/interaction/${uid}/mfa`, { code: '000000' });
    assert.match(wrong.body, /Invalid code\./);
    const done = await user.submit(wrong, `/interaction/${uid}/mfa`, { code: await generate({ secret: totpSecret }) });
    const claims = await redeem(done, verifier);
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    assert.equal(claims.acr, 'urn:portcullis:acr:mfa');
    const read = await adminRequest(server.url, admin, 'GET', `/admin/users/${sub}`);
    assert.equal(read.mfa_enrolled, true);
    assert.ok(!JSON.stringify(read).includes(totpSecret), 'the secret is never returned');
  });

  it('accepts a code once (RFC 6238 §5.2) and a recovery code once', async () => {
    const { user, page, uid, verifier } = await startLogin(server.url, 'mfa-web');
    const challenge = await user.submit(page, `/interaction/${uid}/login`, { username: 'jo', password });
    assert.match(challenge.body, /Enter your code/);
    const replay = await user.submit(challenge, `/interaction/${uid}/mfa`, { code: await generate({ secret: totpSecret }) });
    assert.match(replay.body, /Invalid code\./, 'the code already used is refused');
    const recovered = await user.submit(replay, `/interaction/${uid}/mfa`, { recovery_code: recoveryCodes[0]!.toLowerCase() });
    const claims = await redeem(recovered, verifier);
    assert.deepEqual(claims.amr, ['pwd', 'mfa']);

    const again = await startLogin(server.url, 'mfa-web');
    const page2 = await again.user.submit(again.page, `/interaction/${again.uid}/login`, { username: 'jo', password });
    const reused = await again.user.submit(page2, `/interaction/${again.uid}/mfa`, { recovery_code: recoveryCodes[0]! });
    assert.match(reused.body, /Invalid code\./, 'a recovery code works once');
  });

  it('requires a second factor for every user of a client with require_mfa', async () => {
    const { user, page, uid } = await startLogin(server.url, 'strict-web');
    const enrol = await user.submit(page, `/interaction/${uid}/login`, { username: 'kim', password });
    assert.match(enrol.body, /Set up two-step verification/);
    assert.equal(enrol.location, undefined, 'no code before the second factor');
  });

  it('lets an admin reset a lost authenticator', async () => {
    const response = await fetch(`${server.url}/admin/users/${sub}/mfa`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(response.status, 204);
    const read = await adminRequest(server.url, admin, 'GET', `/admin/users/${sub}`);
    assert.equal(read.mfa_enrolled, false);
    const { user, page, uid } = await startLogin(server.url, 'mfa-web');
    const enrol = await user.submit(page, `/interaction/${uid}/login`, { username: 'jo', password });
    assert.match(enrol.body, /Set up two-step verification/, 'enrols again');
  });
});

describe(`second-factor attempt limits (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: string;
  const strict = { clientId: 'limits-strict' };

  before(async () => {
    env = await createTestEnvironment();
    // TRUST_PROXY: each test is a client at its own (documentation) address, so the per-IP
    // counter of one test does not reach into another's.
    server = await env.start({ MFA_MAX_FAILURES: '5', TRUST_PROXY: 'true' });
    admin = await getAdminToken(server.url);
    await registerPublicWebClient(server.url, admin, strict.clientId, callback, { require_mfa: true });
  });
  after(() => env.cleanup());

  async function enrolledUser(username: string, ip: string) {
    const sub = await createUser(server.url, admin, { username, password });
    const browser = new BrowserlessUser(callback, { 'x-forwarded-for': ip });
    const { authenticator } = await enrolThrough(server.url, strict.clientId, { username, password }, browser);
    return { sub, authenticator, ip };
  }

  /** Signs in with the password in a new browser (no session yet) and returns the code challenge. */
  async function challenge(ip: string, username: string, options: { allowLocked?: boolean } = {}) {
    const browser = new BrowserlessUser(callback, { 'x-forwarded-for': ip });
    const started = await startAuthorization(server.url, strict.clientId, { user: browser });
    const page = await browser.submit(started.page, `/interaction/${started.uid}/login`, { username, password });
    assert.match(page.body, /Enter your code/);
    if (!options.allowLocked) assert.equal(page.status, 200);
    return { ...started, browser, page, uid: started.uid! };
  }

  async function secondFactorFailures(sub: string): Promise<number> {
    const events = await adminRequest(server.url, admin, 'GET', `/admin/events?type=login_failed&sub=${sub}&limit=200`);
    return (events.items as { details: { step?: string } }[]).filter((event) => event.details.step === 'second factor').length;
  }

  it('regression: TOTP has no attempt limit — wrong codes are throttled and end the interaction', async () => {
    const { sub, authenticator, ip } = await enrolledUser('tess', '198.51.100.11');
    const first = await challenge(ip, 'tess');
    const browser = first.browser;
    const wrong1 = await browser.submit(first.page, `/interaction/${first.uid}/mfa`, { code: await authenticator.wrongCode() });
    assert.equal(wrong1.status, 200);
    assert.match(wrong1.body, /Invalid code\./);
    // A wrong recovery code counts like a wrong TOTP code.
    const wrong2 = await browser.submit(wrong1, `/interaction/${first.uid}/mfa`, { recovery_code: 'AAAA-BBBB-CCCC-DDDD' });
    assert.equal(wrong2.status, 200);
    assert.match(wrong2.body, /Invalid code\./);
    const ended = await browser.submit(wrong2, `/interaction/${first.uid}/mfa`, { code: await authenticator.wrongCode() });
    assert.equal(ended.status, 403, 'the third wrong code ends the interaction (NIST SP 800-63B §5.2.2)');
    assert.match(ended.body, /Too many wrong codes\. Go back to the application and sign in again\./);
    // The right code no longer helps in that interaction: the user must start over.
    const late = await browser.submit(wrong2, `/interaction/${first.uid}/mfa`, { code: await authenticator.peekCode() });
    assert.ok(late.status >= 400 && late.status < 500, `refused: ${late.status}`);
    assert.equal(late.location, undefined, 'no code for the client');

    // Starting over: two more wrong codes reach MFA_MAX_FAILURES for the user.
    const second = await challenge(ip, 'tess');
    let page = second.page;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      page = await second.browser.submit(page, `/interaction/${second.uid}/mfa`, { code: await authenticator.wrongCode() });
      assert.equal(page.status, 200);
    }
    assert.equal(await secondFactorFailures(sub), 5);
    // Locked: even the right code is refused, with how long to wait.
    const locked = await second.browser.submit(page, `/interaction/${second.uid}/mfa`, { code: await authenticator.peekCode() });
    assert.equal(locked.status, 429);
    assert.equal(locked.headers.get('retry-after'), '900');
    assert.match(locked.body, /Too many attempts\. Try again in <time datetime="PT900S">15 minutes<\/time>\./);
    assert.equal(locked.location, undefined);
    // From another address too: the lock is the user's (RFC 4226 §7.3), not the address's.
    const elsewhere = new BrowserlessUser(callback, { 'x-forwarded-for': '198.51.100.12' });
    const third = await startAuthorization(server.url, strict.clientId, { user: elsewhere });
    const lockedPage = await elsewhere.submit(third.page, `/interaction/${third.uid}/login`, { username: 'tess', password });
    assert.equal(lockedPage.status, 429, 'the challenge says at once that the second factor is locked');
    assert.match(lockedPage.body, /Try again in/);
  });

  it('regression: TOTP has no attempt limit — bursts of 30 parallel wrong codes: at most 3 checked per interaction, 5 per user, none signs in', async () => {
    const { sub, authenticator, ip } = await enrolledUser('uri', '198.51.100.21');
    // Burst after burst, each in a new sign-in, until the challenge itself says the second factor
    // is locked. Every burst leaves at least one attempt counted for good (a checked code, or one
    // the user's counter refused), so the lock comes within a few bursts.
    let locked: Awaited<ReturnType<typeof challenge>> | undefined;
    for (let burst = 1; burst <= 10 && !locked; burst += 1) {
      const started = await challenge(ip, 'uri', { allowLocked: true });
      if (started.page.status === 429) {
        locked = started;
        break;
      }
      const codes = await Promise.all(Array.from({ length: 30 }, () => authenticator.wrongCode()));
      const answers = await Promise.all(codes.map((code) => started.browser.submit(started.page, `/interaction/${started.uid}/mfa`, { code })));
      assert.ok(answers.every((answer) => answer.status < 500), answers.map((answer) => answer.status).join(','));
      assert.ok(answers.every((answer) => answer.location === undefined), 'no code for the client');
      assert.ok(answers.filter((answer) => /Invalid code\./.test(answer.body)).length <= 2, 'the third wrong code ends the interaction');
      assert.ok(answers.some((answer) => answer.status === 403 || answer.status === 429), 'the burst is cut short');
      const checked = await secondFactorFailures(sub);
      assert.ok(checked <= Math.min(3 * burst, 5), `${checked} codes reached the check after ${burst} bursts`);
    }
    assert.ok(locked, 'the challenge says the second factor is locked');
    assert.match(locked.page.body, /Try again in/);
    const refused = await locked.browser.submit(locked.page, `/interaction/${locked.uid}/mfa`, { code: await authenticator.peekCode() });
    assert.equal(refused.status, 429, 'even the right code');
    assert.equal(refused.location, undefined);
    assert.ok((await secondFactorFailures(sub)) <= 5, 'MFA_MAX_FAILURES codes at most were ever checked');
  });

  if (realStores) {
    it('regression: TOTP has no attempt limit — a Redis flushed empty restarts the counters without a 5xx', async () => {
      const { authenticator, ip } = await enrolledUser('vic', '198.51.100.31');
      const { browser, page, uid } = await challenge(ip, 'vic');
      const codes = await Promise.all(Array.from({ length: 10 }, () => authenticator.wrongCode()));
      await Promise.all(codes.map((code) => browser.submit(page, `/interaction/${uid}/mfa`, { code })));
      const redis = createRedisClient(process.env.REDIS_URL as string);
      try {
        assert.ok((await deleteRedisKeys(redis as Redis, server.config.redisKeyPrefix)) > 0, 'the counters were in Redis');
      } finally {
        redis.disconnect();
      }
      // The interaction went with the flush: its form answers 4xx, not 5xx.
      const gone = await browser.submit(page, `/interaction/${uid}/mfa`, { code: await authenticator.wrongCode() });
      assert.ok(gone.status >= 400 && gone.status < 500, `${gone.status}`);
      // The counters restart: a new sign-in with the right code succeeds.
      const fresh = new BrowserlessUser(callback, { 'x-forwarded-for': '198.51.100.31' });
      const started = await startAuthorization(server.url, strict.clientId, { user: fresh });
      const challenged = await fresh.submit(started.page, `/interaction/${started.uid}/login`, { username: 'vic', password });
      assert.equal(challenged.status, 200);
      const done = await fresh.submit(challenged, `/interaction/${started.uid}/mfa`, { code: await authenticator.nextCode() });
      const claims = await redeemIdToken(server.url, done, started.verifier, strict);
      assert.deepEqual(claims.amr, ['pwd', 'otp']);
    });
  }

  it('regression: TOTP enrolment dead end — a wrong code keeps the enrolment page with the same key and recovery codes', async () => {
    await createUser(server.url, admin, { username: 'wren', password });
    const browser = new BrowserlessUser(callback, { 'x-forwarded-for': '198.51.100.41' });
    const started = await startAuthorization(server.url, strict.clientId, { user: browser });
    const enrol = await browser.submit(started.page, `/interaction/${started.uid}/login`, { username: 'wren', password });
    const shown = readEnrolment(enrol);
    assert.equal(shown.recoveryCodes.length, 10);
    const authenticator = new Authenticator(shown.secret);

    const wrong = await browser.submit(enrol, `/interaction/${started.uid}/mfa`, { code: await authenticator.wrongCode() });
    assert.equal(wrong.status, 200);
    assert.match(wrong.body, /Set up two-step verification/, 'still the enrolment page');
    assert.match(wrong.body, /Invalid code\./);
    assert.match(wrong.body, /<svg/, 'the QR code again');
    assert.deepEqual(readEnrolment(wrong), shown, 'the same key and recovery codes: what was scanned still works');
    assert.doesNotMatch(wrong.body, /recovery_code/, 'no recovery-code field during enrolment');
    // A reload of the interaction shows the same enrolment too.
    const reloaded = await browser.request(`${server.url}/interaction/${started.uid}`);
    assert.deepEqual(readEnrolment(reloaded), shown);

    const done = await browser.submit(wrong, `/interaction/${started.uid}/mfa`, { code: await authenticator.nextCode() });
    const claims = await redeemIdToken(server.url, done, started.verifier, strict);
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    // The recovery codes shown are the ones stored.
    const next = await startAuthorization(server.url, strict.clientId, { user: new BrowserlessUser(callback, { 'x-forwarded-for': '198.51.100.42' }) });
    const codePage = await next.user.submit(next.page, `/interaction/${next.uid}/login`, { username: 'wren', password });
    const recovered = await next.user.submit(codePage, `/interaction/${next.uid}/mfa`, { recovery_code: shown.recoveryCodes[3]! });
    assert.deepEqual((await redeemIdToken(server.url, recovered, next.verifier, strict)).amr, ['pwd', 'mfa']);
  });
});
