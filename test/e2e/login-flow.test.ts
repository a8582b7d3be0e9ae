// The whole front channel in real Chromium, checked with a certified relying-party library
// (openid-client): login → consent → code → tokens → userinfo → refresh → logout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startRelyingParty, type RelyingParty } from '../helpers/rp.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { adminRequest, createUser, getAdminToken } from '../helpers/admin.js';

const api = 'https://notes.api.test';
const password = 'correct horse battery staple';

describe(`browser login flow (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let rp: RelyingParty;
  let browser: Browser;
  let config: oidc.Configuration;
  const clientId = 'notes-web';
  let clientSecret: string;

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    rp = await startRelyingParty();
    browser = await launchBrowser();
    const admin = await getAdminToken(server.url);
    await adminRequest(server.url, admin, 'POST', '/admin/resources', {
      identifier: api,
      name: 'Notes API',
      scopes: ['notes.read', 'notes.write'],
      access_token_ttl: 300,
    });
    const client = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: clientId,
      client_name: 'Notes',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [rp.callback],
      post_logout_redirect_uris: [rp.loggedOut],
      scope: 'openid profile email offline_access notes.read',
    });
    clientSecret = client.client_secret as string;
    await createUser(server.url, admin, { username: 'alice', password, email: 'alice@example.com', email_verified: true, name: 'Alice Liddell' });
    config = await oidc.discovery(new URL(server.issuer), clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), {
      execute: [oidc.allowInsecureRequests],
    });
  });

  after(async () => {
    await browser?.close();
    await rp?.close();
    await env?.cleanup();
  });

  async function startLogin(page: Page, extra: Record<string, string> = {}) {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: rp.callback,
      scope: 'openid profile email offline_access notes.read',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      nonce,
      state,
      prompt: 'consent',
      resource: api,
      ...extra,
    });
    await page.goto(url.href);
    return { codeVerifier, nonce, state };
  }

  async function signIn(page: Page, username: string, secret: string) {
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="password"]', secret);
    await page.click('button[type="submit"]');
  }

  it('logs in, consents, redeems the code, calls userinfo, refreshes and logs out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const { codeVerifier, nonce, state } = await startLogin(page);

    assert.match(await page.title(), /Sign in/);
    await signIn(page, 'alice', password);
    await page.waitForSelector('button[value="allow"]');
    assert.match(await page.textContent('body') ?? '', /Notes API: notes\.read/);
    await page.click('button[value="allow"]');
    await page.waitForURL((url) => url.href.startsWith(rp.callback));

    const callback = new URL(page.url());
    assert.equal(callback.searchParams.get('iss'), server.issuer, 'RFC 9207 iss in the response');
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: codeVerifier,
      expectedNonce: nonce,
      expectedState: state,
      idTokenExpected: true,
    });

    const claims = tokens.claims();
    assert.ok(claims);
    assert.equal(claims.nonce, nonce);
    assert.equal(claims.aud, clientId);
    assert.equal(typeof claims.auth_time, 'number');
    assert.equal(typeof claims.sid, 'string');
    const idTokenHeader = JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString()) as { alg?: string };
    assert.equal(idTokenHeader.alg, 'RS256');
    assert.ok(tokens.refresh_token, 'offline_access yields a refresh token');

    // The code exchange without `resource` in an OpenID flow yields a userinfo token.
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(userinfo.email, 'alice@example.com');
    assert.equal(userinfo.email_verified, true);
    assert.equal(userinfo.name, 'Alice Liddell');
    assert.equal(userinfo.preferred_username, 'alice');

    // Naming the API at the token endpoint yields its RFC 9068 JWT.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token, { resource: api });
    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(refreshed.access_token, jwks, {
      issuer: server.issuer,
      audience: api,
      typ: 'at+jwt',
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sub, claims.sub);
    assert.equal(payload.client_id, clientId);
    assert.equal(payload.scope, 'notes.read');
    assert.equal(payload.exp! - payload.iat!, 300);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'refresh tokens rotate on every use');

    // RP-initiated logout to a registered post_logout_redirect_uri ends the session.
    const logoutUrl = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: rp.loggedOut,
    });
    await page.goto(logoutUrl.href);
    await page.click('button[name="logout"][value="yes"]');
    await page.waitForURL((url) => url.href.startsWith(rp.loggedOut));

    // A new authorization request needs a login again.
    await startLogin(page);
    assert.match(await page.title(), /Sign in/);
    await context.close();
  });

  it('shows one generic message for a wrong password and for an unknown user', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await startLogin(page);
    await signIn(page, 'alice', 'not the password');
    const wrongPassword = await page.textContent('[role="alert"]');
    await signIn(page, 'nobody-by-this-name', 'not the password');
    const unknownUser = await page.textContent('[role="alert"]');
    assert.equal(wrongPassword, 'Invalid username or password.');
    assert.equal(unknownUser, wrongPassword);
    await context.close();
  });

  it('after a wrong password focuses the password field, and the lockout page says how long to wait', async () => {
    const admin = await getAdminToken(server.url);
    await createUser(server.url, admin, { username: 'bob', password });
    const context = await browser.newContext();
    const page = await context.newPage();
    await startLogin(page);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'username', 'a fresh form starts at the username');
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      await signIn(page, 'bob', `wrong ${attempt}`);
      await page.waitForSelector('[role="alert"]');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'password', 'the password is what to retype');
      assert.equal(await page.inputValue('#username'), 'bob');
    }
    // LOGIN_MAX_FAILURES (5) spent: the next attempt is refused and the page gives the time.
    const refused = page.waitForResponse((response) => response.url().endsWith('/login'));
    await signIn(page, 'bob', password);
    assert.equal((await refused).status(), 429);
    assert.equal(await page.textContent('[role="alert"]'), 'Too many attempts. Try again in 15 minutes.');
    await context.close();
  });

  it('returns access_denied to the client when the user denies consent', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await startLogin(page);
    await signIn(page, 'alice', password);
    await page.click('button[value="deny"]');
    await page.waitForURL((url) => url.href.startsWith(rp.callback));
    const callback = new URL(page.url());
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.has('code'), false);
    await context.close();
  });

  it('serves hardened pages and cookies', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const responses: { url: string; headers: Record<string, string> }[] = [];
    page.on('response', (response) => responses.push({ url: response.url(), headers: response.headers() }));
    await startLogin(page);
    const loginPage = responses.find((response) => response.url.includes('/interaction/'));
    assert.ok(loginPage, 'the login page was served');
    assert.match(loginPage.headers['cache-control'] ?? '', /no-store/);
    assert.equal(loginPage.headers['x-frame-options'], 'DENY');
    assert.match(loginPage.headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);
    assert.equal(loginPage.headers['referrer-policy'], 'no-referrer');
    for (const response of responses) {
      assert.ok(new URL(response.url).origin === new URL(server.issuer).origin, `nothing loaded from ${response.url}`);
    }
    const cookies = await context.cookies();
    assert.ok(cookies.length > 0);
    for (const cookie of cookies) {
      assert.equal(cookie.httpOnly, true, `${cookie.name} is HttpOnly`);
      assert.equal(cookie.sameSite, 'Lax', `${cookie.name} is SameSite=Lax`);
    }
    await context.close();
  });

  it('skips consent for a first-party client and remembers consent across sessions', async () => {
    const admin = await getAdminToken(server.url);
    await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: 'first-party-app',
      grant_types: ['authorization_code'],
      redirect_uris: [rp.callback],
      token_endpoint_auth_method: 'none',
      scope: 'openid profile',
      first_party: true,
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const url = new URL(`${server.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: 'first-party-app',
      response_type: 'code',
      redirect_uri: rp.callback,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    }).toString();
    await page.goto(url.href);
    await signIn(page, 'alice', password);
    await page.waitForURL((next) => next.href.startsWith(rp.callback));
    assert.ok(new URL(page.url()).searchParams.get('code'), 'no consent page for a first-party client');

    // notes-web got consent for its scopes in the first test; a fresh browser session (no
    // prompt=consent) goes straight back to the app after the login.
    const second = await browser.newContext();
    const secondPage = await second.newPage();
    const codeVerifier2 = oidc.randomPKCECodeVerifier();
    const again = oidc.buildAuthorizationUrl(config, {
      redirect_uri: rp.callback,
      scope: 'openid profile notes.read',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier2),
      code_challenge_method: 'S256',
      resource: api,
    });
    await secondPage.goto(again.href);
    await signIn(secondPage, 'alice', password);
    await secondPage.waitForURL((next) => next.href.startsWith(rp.callback));
    const code = new URL(secondPage.url()).searchParams.get('code');
    assert.ok(code, 'remembered consent: straight back with a code');
    await context.close();
    await second.close();
  });
});
