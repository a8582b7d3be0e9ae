// Authorization code + PKCE over plain HTTP (the browser's part done by test/helpers/http-login):
// PKCE enforcement, redirect URI checks, single-use codes and refresh-token rotation.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { adminRequest, basicAuth, createUser, getAdminToken } from '../helpers/admin.js';
import { BrowserlessUser } from '../helpers/http-login.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';

const callback = 'https://app.example.test/callback';
const password = 'a long enough password';

function pkcePair(): { verifier: string; challenge: string } {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

describe(`authorization code + PKCE (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let secret: string;
  let otherSecret: string;

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    const admin = await getAdminToken(server.url);
    const client = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: 'web',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [callback],
      scope: 'openid profile offline_access',
      first_party: true,
    });
    secret = client.client_secret as string;
    const other = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: 'other-web',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [callback],
      scope: 'openid offline_access',
    });
    otherSecret = other.client_secret as string;
    await createUser(server.url, admin, { username: 'bob', password });
    await createUser(server.url, admin, { username: 'mallory', password, disabled: true });
  });

  after(() => env.cleanup());

  function authorizationUrl(params: Record<string, string | undefined>): string {
    const url = new URL(`${server.url}/auth`);
    const defaults: Record<string, string> = {
      client_id: 'web',
      response_type: 'code',
      redirect_uri: callback,
      scope: 'openid profile offline_access',
      prompt: 'consent',
    };
    for (const [name, value] of Object.entries({ ...defaults, ...params })) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    return url.href;
  }

  async function token(body: Record<string, string>, auth = basicAuth('web', secret)) {
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  }

  async function getCode(): Promise<{ code: string; verifier: string }> {
    const { verifier, challenge } = pkcePair();
    const user = new BrowserlessUser(callback);
    const redirect = await user.authorize(
      authorizationUrl({ code_challenge: challenge, code_challenge_method: 'S256' }),
      'bob',
      password,
    );
    const code = redirect.searchParams.get('code');
    assert.ok(code, `a code in ${redirect.href}`);
    return { code, verifier };
  }

  it('redeems a code with the right verifier for ID, access and refresh tokens', async () => {
    const { code, verifier } = await getCode();
    const result = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.ok(result.body.id_token && result.body.access_token && result.body.refresh_token);
  });

  it('refuses a wrong PKCE verifier with invalid_grant', async () => {
    const { code } = await getCode();
    const result = await token({ grant_type: 'authorization_code', code, code_verifier: pkcePair().verifier, redirect_uri: callback });
    assert.equal(result.status, 400);
    assert.equal(result.body.error, 'invalid_grant');
  });

  for (const [label, params] of [
    ['missing', { code_challenge: undefined, code_challenge_method: undefined }],
    ['plain', { code_challenge: pkcePair().verifier, code_challenge_method: 'plain' }],
  ] as const) {
    it(`sends invalid_request back to the client when PKCE is ${label}`, async () => {
      const user = new BrowserlessUser(callback);
      const step = await user.open(authorizationUrl(params));
      assert.ok(step.location?.startsWith(callback), `redirected to the client, got ${step.status} ${step.location}`);
      const redirect = new URL(step.location!);
      assert.equal(redirect.searchParams.get('error'), 'invalid_request');
      assert.equal(redirect.searchParams.has('code'), false);
    });
  }

  for (const [label, params] of [
    ['an unregistered redirect URI', { redirect_uri: 'https://evil.example/callback' }],
    ['a redirect URI differing only in its query', { redirect_uri: `${callback}?x=1` }],
    ['an unknown client', { client_id: 'no-such-client' }],
  ] as const) {
    it(`shows the error page and never redirects for ${label}`, async () => {
      const response = await fetch(authorizationUrl({ ...params, ...pkceParams() }), { redirect: 'manual' });
      assert.equal(response.headers.get('location'), null);
      assert.ok(response.status >= 400 && response.status < 500, `status ${response.status}`);
      assert.match(response.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await response.text(), /Something went wrong/);
    });
  }

  function pkceParams() {
    return { code_challenge: pkcePair().challenge, code_challenge_method: 'S256' };
  }

  it('regression: a response type the client is not registered for was invalid_request — it is unauthorized_client (RFC 6749 §4.1.2.1)', async () => {
    const admin = await getAdminToken(server.url);
    // A service (client_credentials only: response_types []), with and without a redirect URI.
    await adminRequest(server.url, admin, 'POST', '/admin/clients', { client_id: 'svc-with-redirect', grant_types: ['client_credentials'], redirect_uris: [callback], scope: 'openid' });
    await adminRequest(server.url, admin, 'POST', '/admin/clients', { client_id: 'svc-plain', grant_types: ['client_credentials'], scope: 'openid' });
    const state = crypto.randomBytes(8).toString('hex');
    const redirected = await fetch(authorizationUrl({ client_id: 'svc-with-redirect', scope: 'openid', state, ...pkceParams() }), { redirect: 'manual' });
    const location = redirected.headers.get('location') ?? '';
    assert.ok(location.startsWith(callback), `redirected to the client, got ${redirected.status} ${location}`);
    const answer = new URL(location).searchParams;
    assert.equal(answer.get('error'), 'unauthorized_client', location);
    assert.match(answer.get('error_description') ?? '', /not registered for the response type code/);
    assert.equal(answer.get('state'), state);
    // No registered redirect URI: the error page, never a redirect.
    for (const redirectUri of [callback, 'https://evil.example/callback']) {
      const page = await fetch(authorizationUrl({ client_id: 'svc-plain', scope: 'openid', redirect_uri: redirectUri, ...pkceParams() }), { redirect: 'manual' });
      assert.equal(page.headers.get('location'), null);
      assert.equal(page.status, 400);
      assert.match(await page.text(), /unauthorized_client|invalid_redirect_uri/);
    }
    // An unsupported response type stays unsupported_response_type, for any client.
    const unsupported = await fetch(authorizationUrl({ response_type: 'token', ...pkceParams() }), { redirect: 'manual' });
    const unsupportedLocation = unsupported.headers.get('location') ?? '';
    assert.ok(unsupportedLocation.startsWith(callback), `${unsupported.status} ${unsupportedLocation}`);
    // (in the fragment: the default response mode of a token response type, OAuth 2.0 Multiple Response Types §5)
    assert.equal(new URLSearchParams(new URL(unsupportedLocation).hash.slice(1)).get('error'), 'unsupported_response_type', unsupportedLocation);
  });

  it('regression: an unknown scope in an authorization request was silently dropped — refused with invalid_scope, back at the client', async () => {
    const admin = await getAdminToken(server.url);
    await adminRequest(server.url, admin, 'POST', '/admin/resources', { identifier: 'https://scoped.api.test', scopes: ['scoped.read'] });
    await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: 'scoped-web',
      grant_types: ['authorization_code'],
      redirect_uris: [callback],
      scope: 'openid profile scoped.read',
      first_party: true,
    });
    const cases: [Record<string, string>, RegExp][] = [
      // No resource: the library would keep only the OpenID Connect scopes and drop the rest.
      [{ scope: 'openid profile no.such.scope' }, /^unknown scope no\.such\.scope: without a resource parameter only openid, profile, email, offline_access are known/],
      // An API scope without its API: the same words (nothing said about which API scopes exist).
      [{ scope: 'openid scoped.read' }, /^unknown scope scoped\.read: without a resource parameter/],
      [{ scope: 'openid address' }, /^unknown scope address/],
      // With a resource: a scope that API does not define.
      [{ scope: 'openid scoped.read no.such.scope', resource: 'https://scoped.api.test' }, /not defined by the resource/],
    ];
    for (const [params, reason] of cases) {
      const state = crypto.randomBytes(8).toString('hex');
      const response = await fetch(authorizationUrl({ client_id: 'scoped-web', prompt: undefined, state, ...params, ...pkceParams() }), { redirect: 'manual' });
      const location = response.headers.get('location') ?? '';
      assert.ok(location.startsWith(callback), `${JSON.stringify(params)}: redirected to the client, got ${response.status} ${location}`);
      const answer = new URL(location).searchParams;
      assert.equal(answer.get('error'), 'invalid_scope', location);
      assert.match(answer.get('error_description') ?? '', reason, location);
      assert.equal(answer.get('state'), state);
      assert.equal(answer.get('iss'), server.issuer);
      assert.equal(answer.has('code'), false);
    }
    // Never redirected to a redirect_uri the client did not register.
    const evil = await fetch(
      authorizationUrl({ client_id: 'scoped-web', scope: 'openid no.such.scope', redirect_uri: 'https://evil.example/callback', ...pkceParams() }),
      { redirect: 'manual' },
    );
    assert.equal(evil.headers.get('location'), null);
    assert.equal(evil.status, 400);
    // Pushed authorization requests (RFC 9126) are refused the same way.
    const par = await fetch(`${server.url}/request`, {
      method: 'POST',
      headers: { authorization: basicAuth('web', secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'web', response_type: 'code', redirect_uri: callback, scope: 'openid no.such.scope', ...pkceParams() }),
    });
    const parBody = (await par.json()) as Record<string, string>;
    assert.equal(par.status, 400, JSON.stringify(parBody));
    assert.equal(parBody.error, 'invalid_scope');
    // The scopes that exist still work, with their API named.
    const { challenge } = pkcePair();
    const redirect = await new BrowserlessUser(callback).authorize(
      authorizationUrl({ client_id: 'scoped-web', scope: 'openid scoped.read', resource: 'https://scoped.api.test', prompt: undefined, code_challenge: challenge, code_challenge_method: 'S256' }),
      'bob',
      password,
    );
    assert.ok(redirect.searchParams.get('code'), redirect.href);
  });

  it('lets exactly one of ten parallel redemptions of a code win', async () => {
    const { code, verifier } = await getCode();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback }),
      ),
    );
    assert.equal(results.filter((result) => result.status === 200).length, 1, JSON.stringify(results.map((r) => r.status)));
    for (const result of results.filter((r) => r.status !== 200)) assert.equal(result.body.error, 'invalid_grant');
  });

  it('revokes what the first redemption issued when a code is used again (RFC 9700 §4.2.4)', async () => {
    const { code, verifier } = await getCode();
    const first = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback });
    assert.equal(first.status, 200);
    const second = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback });
    assert.equal(second.status, 400);
    assert.equal(second.body.error, 'invalid_grant');
    const refresh = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token! });
    assert.equal(refresh.body.error, 'invalid_grant', 'the refresh token of the first redemption is revoked');
    const userinfo = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${first.body.access_token}` } });
    assert.equal(userinfo.status, 401, 'the access token of the first redemption is revoked');

    const admin = await getAdminToken(server.url);
    const events = await adminRequest(server.url, admin, 'GET', '/admin/events?type=grant_revoked&client_id=web');
    const reasons = (events.items as { details: { reason: string } }[]).map((event) => event.details.reason);
    assert.ok(reasons.some((reason) => /used twice/.test(reason)), reasons.join('; '));
    const changes = await adminRequest(server.url, admin, 'GET', '/admin/events?type=admin_change');
    const created = (changes.items as { client_id: string; details: { method: string; path: string } }[]).find(
      (event) => event.details.path === '/admin/clients' && event.details.method === 'POST',
    );
    assert.ok(created, 'client registrations are recorded');
    assert.equal(created.client_id, 'test-admin', 'with the admin that made them');
  });

  it('rotates refresh tokens and revokes the grant when a rotated one is reused (RFC 9700 §4.14.2)', async () => {
    const { code, verifier } = await getCode();
    const issued = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback });
    const rotated = await token({ grant_type: 'refresh_token', refresh_token: issued.body.refresh_token! });
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.refresh_token, issued.body.refresh_token);
    const reuse = await token({ grant_type: 'refresh_token', refresh_token: issued.body.refresh_token! });
    assert.equal(reuse.body.error, 'invalid_grant');
    const afterReuse = await token({ grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token! });
    assert.equal(afterReuse.body.error, 'invalid_grant', 'the whole family is revoked');
  });

  it('binds refresh tokens to the client they were issued to', async () => {
    const { code, verifier } = await getCode();
    const issued = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback });
    const stolen = await token(
      { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token! },
      basicAuth('other-web', otherSecret),
    );
    assert.equal(stolen.body.error, 'invalid_grant');
  });

  it('does not let a disabled user log in, with the same message as a wrong password', async () => {
    const user = new BrowserlessUser(callback);
    const page = await user.open(authorizationUrl(pkceParams()));
    const uid = /\/interaction\/([^/?#]+)/.exec(page.url)![1]!;
    const disabled = await user.submit(page, `/interaction/${uid}/login`, { username: 'mallory', password });
    assert.match(disabled.body, /Invalid username or password\./);
    const wrong = await user.submit(disabled, `/interaction/${uid}/login`, { username: 'bob', password: 'wrong password!' });
    assert.match(wrong.body, /Invalid username or password\./);
  });

  it('refuses a login POST without the CSRF token and answers 303 after a good one', async () => {
    const user = new BrowserlessUser(callback);
    const page = await user.open(authorizationUrl(pkceParams()));
    const uid = /\/interaction\/([^/?#]+)/.exec(page.url)![1]!;
    const forged = await user.request(`${server.url}/interaction/${uid}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'bob', password }).toString(),
    });
    assert.equal(forged.status, 403);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const good = await user.request(`${server.url}/interaction/${uid}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, username: 'bob', password }).toString(),
    });
    assert.equal(good.status, 303);
  });

  async function loggedInUser(username: string): Promise<{ user: BrowserlessUser; tokens: Record<string, string> }> {
    const { verifier, challenge } = pkcePair();
    const user = new BrowserlessUser(callback);
    const redirect = await user.authorize(authorizationUrl({ code_challenge: challenge, code_challenge_method: 'S256' }), username, password);
    const issued = await token({ grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, code_verifier: verifier, redirect_uri: callback });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    return { user, tokens: issued.body };
  }

  it('stops refresh tokens, userinfo tokens and the session of a revoked user at once', async () => {
    const admin = await getAdminToken(server.url);
    const sub = await createUser(server.url, admin, { username: 'erin', password });
    const { user, tokens } = await loggedInUser('erin');
    const before = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(before.status, 200);

    await adminRequest(server.url, admin, 'POST', '/admin/revocations', { sub });

    const refresh = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    assert.equal(refresh.body.error, 'invalid_grant');
    const userinfo = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(userinfo.status, 401);
    const again = await user.open(authorizationUrl(pkceParams()));
    assert.match(again.body, /name="password"/, 'the session no longer signs the user in');
  });

  it('asks a disabled user with a live session to log in again, never a server error', async () => {
    const admin = await getAdminToken(server.url);
    const sub = await createUser(server.url, admin, { username: 'frank', password });
    const { user, tokens } = await loggedInUser('frank');
    await adminRequest(server.url, admin, 'PUT', `/admin/users/${sub}`, { disabled: true });
    const again = await user.open(authorizationUrl(pkceParams()));
    assert.equal(again.status, 200);
    assert.match(again.body, /name="password"/);
    const refresh = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    assert.equal(refresh.body.error, 'invalid_grant');
  });

  it('runs a plain OAuth 2.0 code flow without openid', async () => {
    const admin = await getAdminToken(server.url);
    await adminRequest(server.url, admin, 'POST', '/admin/resources', { identifier: 'https://plain.api.test', scopes: ['plain.read'] });
    const created = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: 'plain-oauth',
      grant_types: ['authorization_code'],
      redirect_uris: [callback],
      scope: 'plain.read',
      first_party: true,
    });
    const { verifier, challenge } = pkcePair();
    const redirect = await new BrowserlessUser(callback).authorize(
      authorizationUrl({
        client_id: 'plain-oauth',
        scope: 'plain.read',
        resource: 'https://plain.api.test',
        prompt: undefined,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
      'bob',
      password,
    );
    const issued = await token(
      { grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, code_verifier: verifier, redirect_uri: callback },
      basicAuth('plain-oauth', created.client_secret as string),
    );
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(issued.body.id_token, undefined);
    assert.equal(issued.body.scope, 'plain.read');

    // OpenID Connect scopes it was not registered for are refused, back at the client.
    const refused = await new BrowserlessUser(callback).open(
      authorizationUrl({ client_id: 'plain-oauth', scope: 'openid email plain.read', resource: 'https://plain.api.test', ...pkceParams() }),
    );
    assert.ok(refused.location?.startsWith(callback), `redirected to the client: ${refused.status} ${refused.location}`);
    assert.equal(new URL(refused.location!).searchParams.get('error'), 'invalid_scope');
  });
});
