// Step-up: a session that signed in with a password alone does not satisfy a request that needs
// a second factor (the client's require_mfa, the user's mfa_required, acr_values). With
// prompt=none the answer is login_required (OIDC Core §3.1.2.6); interactively the page asks only
// for the code of the session's account, and the ID token then says amr ["pwd","otp"].
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminRequest, createUser, getAdminToken } from '../helpers/admin.js';
import { BrowserlessUser, type FlowStep } from '../helpers/http-login.js';
import { callback, enrolThrough, redeemIdToken, startAuthorization } from '../helpers/mfa-flow.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';

const password = 'step up password';
const plain = { clientId: 'plain-web' };
const strict = { clientId: 'strict-web' };
const acrMfa = 'urn:portcullis:acr:mfa';
const acrPassword = 'urn:portcullis:acr:pwd';

describe(`step-up to a second factor (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: string;

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    admin = await getAdminToken(server.url);
    for (const client of [plain, strict]) {
      await adminRequest(server.url, admin, 'POST', '/admin/clients', {
        client_id: client.clientId,
        grant_types: ['authorization_code'],
        redirect_uris: [callback],
        token_endpoint_auth_method: 'none',
        scope: 'openid',
        first_party: true,
        ...(client === strict ? { require_mfa: true } : {}),
      });
    }
  });
  after(() => env.cleanup());

  /** A browser whose session signed in with the password only, through the plain client. */
  async function passwordSession(username: string): Promise<BrowserlessUser> {
    const started = await startAuthorization(server.url, plain.clientId);
    const done = await started.user.submit(started.page, `/interaction/${started.uid}/login`, { username, password });
    const claims = await redeemIdToken(server.url, done, started.verifier, plain);
    assert.deepEqual(claims.amr, ['pwd']);
    return started.user;
  }

  function errorOf(step: FlowStep): string | null {
    assert.ok(step.location?.startsWith(callback), `back at the client: ${step.status} ${step.body.slice(0, 200)}`);
    return new URL(step.location!).searchParams.get('error');
  }

  /** The step-up page: the code of the session's account, and nothing else. */
  function assertCodeOnly(page: FlowStep, username: string): void {
    assert.equal(page.status, 200);
    assert.match(page.body, /Enter your code/);
    assert.doesNotMatch(page.body, /name="password"/, 'no password asked');
    assert.doesNotMatch(page.body, /name="username"/, 'no account to choose');
    assert.match(page.body, new RegExp(`<strong>${username}</strong>`), 'for the session account');
  }

  it('regression: require_mfa is bypassed by an existing password-only session', async () => {
    await createUser(server.url, admin, { username: 'uma', password });
    const browser = await passwordSession('uma');
    // Elsewhere, uma enrols an authenticator.
    const { authenticator } = await enrolThrough(server.url, strict.clientId, { username: 'uma', password });

    const silent = await startAuthorization(server.url, strict.clientId, { user: browser, params: { prompt: 'none' } });
    assert.equal(errorOf(silent.page), 'login_required', 'prompt=none cannot step up');

    const interactive = await startAuthorization(server.url, strict.clientId, { user: browser });
    assertCodeOnly(interactive.page, 'uma');
    const wrong = await browser.submit(interactive.page, `/interaction/${interactive.uid}/mfa`, { code: await authenticator.wrongCode() });
    assert.match(wrong.body, /Invalid code\./);
    const done = await browser.submit(wrong, `/interaction/${interactive.uid}/mfa`, { code: await authenticator.nextCode() });
    const claims = await redeemIdToken(server.url, done, interactive.verifier, strict);
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    assert.equal(claims.acr, acrMfa);

    // The session now carries the second factor: the strict client gets a code without a prompt.
    const after = await startAuthorization(server.url, strict.clientId, { user: browser, params: { prompt: 'none' } });
    assert.equal(errorOf(after.page), null);
    assert.deepEqual((await redeemIdToken(server.url, after.page, after.verifier, strict)).amr, ['pwd', 'otp']);
  });

  it('regression: mfa_required set on a user does not touch their existing sessions', async () => {
    const sub = await createUser(server.url, admin, { username: 'wes', password });
    const browser = await passwordSession('wes');
    const { authenticator } = await enrolThrough(server.url, strict.clientId, { username: 'wes', password });
    const before = await startAuthorization(server.url, plain.clientId, { user: browser, params: { prompt: 'none' } });
    assert.equal(errorOf(before.page), null, 'not required yet: the password session is enough');

    await adminRequest(server.url, admin, 'PUT', `/admin/users/${sub}`, { mfa_required: true });
    const silent = await startAuthorization(server.url, plain.clientId, { user: browser, params: { prompt: 'none' } });
    assert.equal(errorOf(silent.page), 'login_required');

    const interactive = await startAuthorization(server.url, plain.clientId, { user: browser });
    assertCodeOnly(interactive.page, 'wes');
    const done = await browser.submit(interactive.page, `/interaction/${interactive.uid}/mfa`, { code: await authenticator.nextCode() });
    const claims = await redeemIdToken(server.url, done, interactive.verifier, plain);
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    assert.equal(claims.acr, acrMfa);
  });

  it('a password session whose user has no second factor yet signs in again with the password before enrolling', async () => {
    await createUser(server.url, admin, { username: 'xan', password });
    const browser = await passwordSession('xan');
    const started = await startAuthorization(server.url, strict.clientId, { user: browser });
    assert.equal(started.page.status, 200);
    assert.match(started.page.body, /name="password"/, 'the password first: a session cookie alone may not add an authenticator');
    assert.match(started.page.body, /name="username"[^>]*value="xan"/, 'for the same account');
    assert.doesNotMatch(started.page.body, /Set up two-step verification/);
    const enrol = await browser.submit(started.page, `/interaction/${started.uid}/login`, { username: 'xan', password });
    assert.match(enrol.body, /Set up two-step verification/);
  });

  it('honours acr_values and advertises acr_values_supported', async () => {
    const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as { acr_values_supported?: string[] };
    assert.deepEqual(discovery.acr_values_supported, [acrPassword, acrMfa]);

    await createUser(server.url, admin, { username: 'yara', password });
    const browser = await passwordSession('yara');
    const enough = await startAuthorization(server.url, plain.clientId, { user: browser, params: { prompt: 'none', acr_values: `${acrPassword} ${acrMfa}` } });
    assert.equal(errorOf(enough.page), null, 'the password class is among those asked for');
    assert.equal((await redeemIdToken(server.url, enough.page, enough.verifier, plain)).acr, acrPassword);
    const unknown = await startAuthorization(server.url, plain.clientId, { user: browser, params: { prompt: 'none', acr_values: 'urn:example:unknown' } });
    assert.equal(errorOf(unknown.page), null, 'an unknown class is voluntary (OIDC Core §5.5.1.1): ignored');
    const mfaOnly = await startAuthorization(server.url, plain.clientId, { user: browser, params: { prompt: 'none', acr_values: acrMfa } });
    assert.equal(errorOf(mfaOnly.page), 'login_required');
  });
});
