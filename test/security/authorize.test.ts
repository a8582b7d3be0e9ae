// Adversarial requests at the front channel: what discovery advertises (no weak algorithms, no
// request_uri fetching, an issuer a Host header cannot move), the authorization endpoint (every
// redirect URI trick an attacker uses to steal a code, RFC 9700 §4.1; PKCE downgrades; response
// types that would put tokens in URLs; duplicate parameters; request objects; pushed requests),
// the login / consent forms (CSRF, reflected markup, session fixation, malformed input) and the
// headers of pages and token responses (clickjacking, caching, CORS).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { BrowserlessUser } from '../helpers/http-login.js';
import { storesLabel } from '../helpers/server.js';
import {
  apis,
  assertErrorPage,
  assertUnframeable,
  basicAuth,
  callback,
  csrfField,
  handBuiltJwt,
  interactionUid,
  nativeCallback,
  password,
  redirectedTo,
  pkcePair,
  send,
  startCountingServer,
  startFixture,
  username,
  type Answer,
  type Fixture,
} from './support.js';

/** The authorization answered with a redirect to the registered callback carrying `error`, and no code. */
function assertErrorAtClient(answer: Answer, error: string, redirectUri = callback): URL {
  const redirect = redirectedTo(answer.location, redirectUri, `(${answer.status} ${answer.text.slice(0, 200)})`);
  assert.equal(redirect.searchParams.get('error'), error, answer.location);
  assert.equal(redirect.searchParams.get('code'), null);
  assert.equal(redirect.searchParams.get('access_token'), null);
  assert.equal(redirect.searchParams.get('id_token'), null);
  return redirect;
}

/** The request reached the login page: the redirect URI was accepted. */
function assertReachedLogin(answer: Answer): void {
  assert.equal(answer.status, 303, answer.text.slice(0, 200));
  assert.match(answer.location ?? '', /\/interaction\//);
}

/** A raw GET with headers fetch() will not send (Host). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
      })
      .on('error', reject);
  });
}

describe(`security: discovery, headers, authorization endpoint and login forms (${storesLabel})`, () => {
  let f: Fixture;
  let discovery: Record<string, unknown>;

  before(async () => {
    f = await startFixture();
    discovery = (await send(`${f.url}/.well-known/openid-configuration`)).json!;
  });

  after(() => f?.cleanup());

  describe('redirect URI validation: exact match, never a redirect elsewhere', () => {
    const variants: [string, string][] = [
      ['RFC 9700 §4.1.1 — a redirect URI with an added path segment', `${callback}/evil`],
      ['RFC 9700 §4.1.3 — a redirect URI with a trailing slash', `${callback}/`],
      ['RFC 9700 §4.1.3 — a redirect URI with dot segments (/x/../callback)', 'https://app.example.test/x/../callback'],
      ['RFC 9700 §4.1.3 — a redirect URI with a percent-encoded path character (%63allback)', 'https://app.example.test/%63allback'],
      ['RFC 9700 §4.1.3 — a redirect URI with an encoded slash and dot segment (callback%2F..)', `${callback}%2F..`],
      ['RFC 9700 §4.1.3 — a redirect URI whose host differs in case', 'https://APP.example.test/callback'],
      ['RFC 9700 §4.1.3 — a redirect URI whose path differs in case', 'https://app.example.test/Callback'],
      ['RFC 9700 §4.1.1 — a redirect URI with attacker userinfo (https://attacker@host)', 'https://attacker@app.example.test/callback'],
      ['RFC 9700 §4.1.3 — a redirect URI with an explicit default port', 'https://app.example.test:443/callback'],
      ['RFC 9700 §4.1.3 — a redirect URI downgraded to http', 'http://app.example.test/callback'],
      ['RFC 6749 §3.1.2.3 — a redirect URI with an added query', `${callback}?next=https://attacker.example.test`],
      ['RFC 6749 §3.1.2 — a redirect URI with a fragment', `${callback}#frag`],
      ['RFC 9700 §4.1.1 — a redirect URI on a suffix domain (app.example.test.attacker.test)', 'https://app.example.test.attacker.test/callback'],
      ['RFC 9700 §4.1.3 (IDN homograph) — a redirect URI with a Cyrillic "а" in the host', 'https://\u0430pp.example.test/callback'],
      ['RFC 9700 §4.1.3 (IDN) — a punycode look-alike redirect URI', 'https://xn--pp-7ka.example.test/callback'],
      ['RFC 9700 §4.1.1 (parser confusion) — a redirect URI with a backslash before @attacker', 'https://app.example.test\\@attacker.example.test/callback'],
      ['RFC 9700 §4.11.2 (open redirect) — a protocol-relative redirect URI', '//attacker.example.test/callback'],
      ['RFC 6749 §3.1.2 — a javascript: redirect URI', 'javascript:alert(document.domain)//app.example.test/callback'],
    ];
    for (const [label, redirectUri] of variants) {
      it(`${label} is refused with an error page, never a redirect`, async () => {
        assertErrorPage(await send(f.authorizationUrl({ redirect_uri: redirectUri })));
      });
    }

    const patterns: [string, string, string[]][] = [
      ['a wildcard host', 'https://*.example.test/callback', ['https://attacker.example.test/callback', 'https://app.example.test/callback']],
      ['a wildcard path', 'https://app.example.test/*', ['https://app.example.test/callback', 'https://app.example.test/anything']],
      ['user information', 'https://user:pass@app.example.test/callback', ['https://app.example.test/callback', 'https://attacker@app.example.test/callback']],
    ];
    for (const [index, [label, registered, attempts]] of patterns.entries()) {
      it(`RFC 9700 §4.1.3 — a redirect URI registered with ${label} is refused at registration or matches only itself`, async () => {
        const adminToken = await f.adminToken();
        const created = await send(`${f.url}/admin/clients`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ client_id: `pattern-app-${index}`, grant_types: ['authorization_code'], redirect_uris: [registered], scope: 'openid' }),
        });
        if (created.status === 400) {
          assert.equal(created.json?.error, 'invalid_redirect_uri', created.text);
          return;
        }
        assert.equal(created.status, 201, created.text);
        for (const attempt of attempts) {
          assertErrorPage(await send(f.authorizationUrl({ client_id: `pattern-app-${index}`, scope: 'openid', redirect_uri: attempt })));
        }
      });
    }

    it('RFC 8252 §7.3 / RFC 9700 §4.1.3 — a loopback redirect may vary the port only: path, host name, scheme and IPv6 variants are refused', async () => {
      assertReachedLogin(await send(f.authorizationUrl({ client_id: 'native', scope: 'openid', redirect_uri: 'http://127.0.0.1:53127/callback' })));
      for (const attempt of [
        'http://127.0.0.1:53127/other',
        'http://localhost:53127/callback',
        'https://127.0.0.1:53127/callback',
        'http://[::1]:53127/callback',
        'http://127.0.0.1.attacker.example.test:53127/callback',
        `${nativeCallback}?x=1`,
      ]) {
        assertErrorPage(await send(f.authorizationUrl({ client_id: 'native', scope: 'openid', redirect_uri: attempt })));
      }
    });

    it('RFC 6749 §3.1 — a duplicated redirect_uri (registered + attacker) is refused without a redirect to either', async () => {
      const url = new URL(f.authorizationUrl());
      url.searchParams.append('redirect_uri', 'https://attacker.example.test/callback');
      assertErrorPage(await send(url.href));
    });

    it('RFC 6749 §3.1 — a duplicated client_id is refused without a redirect', async () => {
      const url = new URL(f.authorizationUrl());
      url.searchParams.append('client_id', 'other');
      assertErrorPage(await send(url.href));
    });
  });

  describe('response types, PKCE and request objects', () => {
    it('RFC 9700 §2.1.2 — response_type=token (implicit) is refused: no access token in a URL', async () => {
      assertErrorAtClient(await send(f.authorizationUrl({ response_type: 'token' })), 'unsupported_response_type');
    });

    it('RFC 9700 §2.1.2 — the hybrid response_type "code id_token" is refused', async () => {
      assertErrorAtClient(await send(f.authorizationUrl({ response_type: 'code id_token', nonce: 'n-0S6_WzA2Mj' })), 'unsupported_response_type');
    });

    it('RFC 9700 §4.8 (PKCE downgrade) — a code_challenge without code_challenge_method (implicitly plain) is refused', async () => {
      assertErrorAtClient(await send(f.authorizationUrl({ code_challenge_method: undefined })), 'invalid_request');
    });

    it('RFC 7636 §4.3 / RFC 9700 §2.1.1 — unsupported or mis-cased methods (s256, S512) are refused', async () => {
      for (const method of ['s256', 'S512']) {
        assertErrorAtClient(await send(f.authorizationUrl({ code_challenge_method: method })), 'invalid_request');
      }
    });

    it('RFC 7636 §4.2 — a code_challenge shorter than 43 characters is refused', async () => {
      assertErrorAtClient(await send(f.authorizationUrl({ code_challenge: 'too-short' })), 'invalid_request');
    });

    it('RFC 6749 §3.1 — a duplicated code_challenge (two challenges, attacker picks later) is refused', async () => {
      const url = new URL(f.authorizationUrl());
      url.searchParams.append('code_challenge', pkcePair().challenge);
      assertErrorAtClient(await send(url.href), 'invalid_request');
    });

    it('RFC 6749 §3.1 — a duplicated scope is refused', async () => {
      const url = new URL(f.authorizationUrl());
      url.searchParams.append('scope', 'openid profile email');
      assertErrorAtClient(await send(url.href), 'invalid_request');
    });

    it('regression: RFC 6749 §4.1.2.1 — an unknown scope was silently dropped; it is invalid_scope at the client, an API scope without its resource likewise', async () => {
      for (const scope of ['openid offline_access no.such.scope', 'openid a.r', 'openid phone']) {
        const redirect = assertErrorAtClient(await send(f.authorizationUrl({ scope })), 'invalid_scope');
        assert.match(redirect.searchParams.get('error_description') ?? '', /^unknown scope /);
      }
      assertReachedLogin(await send(f.authorizationUrl({ scope: 'openid a.r', resource: apis.a })));
    });

    it('RFC 9101 §6 / RFC 8725 §3.2 — an unsigned (alg none) request object is refused and its redirect_uri is never used', async () => {
      const request = handBuiltJwt({ alg: 'none' }, { client_id: 'web', redirect_uri: 'https://attacker.example.test/callback', response_type: 'code' });
      const answer = await send(f.authorizationUrl({ request }));
      assert.ok(!answer.location?.startsWith('https://attacker.example.test'), `never sent to the attacker: ${answer.location}`);
      assertErrorAtClient(answer, 'request_not_supported');
    });

    it('RFC 9207 §2 (mix-up, RFC 9700 §4.4) — error responses to the client carry the iss of this server too', async () => {
      const redirect = assertErrorAtClient(await send(f.authorizationUrl({ prompt: 'none' })), 'login_required');
      assert.equal(redirect.searchParams.get('iss'), f.issuer);
    });

    it('RFC 9126 §2.1 (PAR) — a pushed request with an unregistered redirect_uri is refused', async () => {
      const answer = await send(`${f.url}/request`, {
        method: 'POST',
        headers: { authorization: basicAuth('web', f.secrets.web!) },
        body: new URLSearchParams({
          client_id: 'web',
          response_type: 'code',
          redirect_uri: 'https://attacker.example.test/callback',
          scope: 'openid',
          code_challenge: pkcePair().challenge,
          code_challenge_method: 'S256',
        }),
      });
      assert.equal(answer.status, 400, answer.text);
      assert.ok(['invalid_redirect_uri', 'invalid_request'].includes(String(answer.json?.error)), answer.text);
      assert.equal(answer.json?.request_uri, undefined);
    });

    it('RFC 9126 §4 — a pushed request_uri is bound to its client: another client cannot use it', async () => {
      const pushed = await send(`${f.url}/request`, {
        method: 'POST',
        headers: { authorization: basicAuth('web', f.secrets.web!) },
        body: new URLSearchParams({ client_id: 'web', response_type: 'code', redirect_uri: callback, scope: 'openid', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' }),
      });
      assert.equal(pushed.status, 201, pushed.text);
      const requestUri = pushed.json?.request_uri as string;
      const stolen = await send(`${f.url}/auth?${new URLSearchParams({ client_id: 'other', request_uri: requestUri })}`);
      assert.ok(!stolen.location?.includes('code='), `no code: ${stolen.location}`);
      assert.ok(stolen.status >= 300 && stolen.status < 500, `refused: ${stolen.status}`);
      assert.doesNotMatch(stolen.location ?? '', /\/interaction\//, 'no login for the other client');
    });
  });

  describe('CSRF on the login and consent forms (RFC 9700 §4.7)', () => {
    it('RFC 9700 §4.7 — a CSRF token taken from another interaction is refused with 403', async () => {
      const attacker = new BrowserlessUser(callback);
      const attackerPage = await attacker.open(f.authorizationUrl());
      const victim = new BrowserlessUser(callback);
      const victimPage = await victim.open(f.authorizationUrl());
      const answer = await victim.request(`${f.url}/interaction/${interactionUid(victimPage.url)}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf: csrfField(attackerPage.body), username, password }).toString(),
      });
      assert.equal(answer.status, 403);
      assert.equal(answer.location, undefined);
    });

    it('RFC 9700 §4.7 — a cross-site login POST without the interaction cookie is refused even with a valid CSRF token', async () => {
      const user = new BrowserlessUser(callback);
      const page = await user.open(f.authorizationUrl());
      const answer = await send(`${f.url}/interaction/${interactionUid(page.url)}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf: csrfField(page.body), username, password }),
      });
      assertErrorPage(answer);
    });

    it('RFC 9700 §4.7 — the consent form refuses a missing or tampered CSRF token, then accepts the right one', async () => {
      const user = new BrowserlessUser(callback);
      const login = await user.open(f.authorizationUrl({ client_id: 'consent-app', scope: 'openid profile' }));
      const consent = await user.submit(login, `/interaction/${interactionUid(login.url)}/login`, { username, password });
      const uid = interactionUid(consent.url);
      const csrf = csrfField(consent.body);
      const post = (body: string) =>
        user.request(`${f.url}/interaction/${uid}/consent`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      const tampered = `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}`;
      for (const body of ['decision=allow', `decision=allow&csrf=${tampered}`, 'decision=allow&csrf=']) {
        const refused = await post(body);
        assert.equal(refused.status, 403, `${body}: ${refused.status}`);
        assert.equal(refused.location, undefined);
      }
      const accepted = await post(`decision=allow&csrf=${encodeURIComponent(csrf)}`);
      assert.equal(accepted.status, 303, 'the genuine form still works');
    });

    it('RFC 6749 §3.1 — a login form with a duplicated field (username twice) is refused', async () => {
      const user = new BrowserlessUser(callback);
      const page = await user.open(f.authorizationUrl());
      const answer = await user.request(`${f.url}/interaction/${interactionUid(page.url)}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `csrf=${encodeURIComponent(csrfField(page.body))}&username=mallory&username=${username}&password=${encodeURIComponent(password)}`,
      });
      assert.equal(answer.status, 400);
      assert.equal(answer.location, undefined);
    });

    it('session fixation (CWE-384) — a session cookie planted before login is not the session after login', async () => {
      const user = new BrowserlessUser(callback);
      const planted = 'attacker-chosen-session-id-0123456789ab';
      user.jar.store(new Response(null, { headers: [['set-cookie', `_session=${planted}; path=/`], ['set-cookie', '_session.sig=forged; path=/']] }));
      assert.match(user.jar.header(), new RegExp(`_session=${planted}`), 'the planted cookie is sent');
      const redirect = await user.authorize(f.authorizationUrl(), username, password);
      assert.ok(redirect.searchParams.get('code'));
      const session = /(?:^|; )_session=([^;]+)/.exec(user.jar.header())?.[1];
      assert.ok(session, 'a session cookie after login');
      assert.notEqual(session, planted);
    });
  });

  describe('reflected markup and malformed form input', () => {
    it('stored XSS (CWE-79) — a client_name with markup is escaped on the login page', async () => {
      const page = await new BrowserlessUser(callback).open(f.authorizationUrl({ client_id: 'consent-app', scope: 'openid profile' }));
      assert.equal(page.status, 200);
      assert.ok(!page.body.includes('<script>alert("client_name")'), 'the client name is not markup');
      assert.match(page.body, /&lt;script&gt;alert\(&quot;client_name&quot;\)/);
    });

    it('reflected XSS (CWE-79) — login_hint and a failed username are escaped when echoed into the form', async () => {
      const payload = '"><img src=x onerror=alert(1)>';
      const user = new BrowserlessUser(callback);
      const page = await user.open(f.authorizationUrl({ login_hint: payload }));
      assert.ok(!page.body.includes(payload), 'login_hint is escaped');
      const failed = await user.submit(page, `/interaction/${interactionUid(page.url)}/login`, { username: payload, password: 'not the password' });
      assert.equal(failed.status, 200);
      assert.match(failed.body, /Invalid username or password\./);
      assert.ok(!failed.body.includes(payload), 'the echoed username is escaped');
      assert.ok(!failed.body.includes('<img src=x'), 'no injected element');
    });

    it('CWE-200 — a failed login never echoes the password back into the page', async () => {
      const user = new BrowserlessUser(callback);
      const page = await user.open(f.authorizationUrl());
      const secret = 'my-Secret-Password-9f3b';
      const failed = await user.submit(page, `/interaction/${interactionUid(page.url)}/login`, { username, password: secret });
      assert.match(failed.body, /Invalid username or password\./);
      assert.ok(!failed.body.includes(secret));
    });

    it('CWE-158 (NUL byte) — a NUL byte in the username is a failed login, not a server error', async () => {
      const user = new BrowserlessUser(callback);
      const page = await user.open(f.authorizationUrl());
      const answer = await user.request(`${f.url}/interaction/${interactionUid(page.url)}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `csrf=${encodeURIComponent(csrfField(page.body))}&username=ali%00ce&password=${encodeURIComponent(password)}`,
      });
      assert.ok(answer.status < 500, `no server error for a NUL byte, got ${answer.status}`);
      assert.ok(answer.status === 200 || answer.status === 400, `a failed login or a 400, got ${answer.status}`);
      assert.equal(answer.location, undefined, 'not signed in');
    });

    it('CWE-400 (oversized input) — a login form over 16 KiB is 413 and a 15 KiB password is just a failed login', async () => {
      const user = new BrowserlessUser(callback);
      const page = await user.open(f.authorizationUrl());
      const action = `${f.url}/interaction/${interactionUid(page.url)}/login`;
      const csrf = encodeURIComponent(csrfField(page.body));
      const post = (body: string, type = 'application/x-www-form-urlencoded') => user.request(action, { method: 'POST', headers: { 'content-type': type }, body });
      const huge = await post(`csrf=${csrf}&username=${username}&password=${'x'.repeat(20 * 1024)}`);
      assert.equal(huge.status, 413);
      const long = await post(`csrf=${csrf}&username=${username}&password=${'y'.repeat(15 * 1024)}`);
      assert.equal(long.status, 200);
      assert.match(long.body, /Invalid username or password\./);
      assert.ok(!long.body.includes('y'.repeat(64)), 'the long password is not echoed');
      const json = await post(JSON.stringify({ csrf, username, password }), 'application/json');
      assert.equal(json.status, 415, 'a JSON body is not a form');
    });
  });

  describe('discovery', () => {
    it('RFC 8725 §3.1 / RFC 8414 §2 — no *_alg_values_supported list offers "none" or an HMAC algorithm', () => {
      const lists = Object.entries(discovery).filter(([name]) => name.endsWith('_alg_values_supported'));
      assert.ok(lists.length >= 2, `algorithm lists are advertised: ${lists.map(([name]) => name).join(', ')}`);
      for (const [name, values] of lists) {
        assert.ok(Array.isArray(values), name);
        for (const alg of values as string[]) {
          assert.notEqual(alg.toLowerCase(), 'none', `${name} offers none`);
          assert.doesNotMatch(alg, /^HS/, `${name} offers ${alg}`);
        }
      }
      const methods = discovery.token_endpoint_auth_methods_supported as string[];
      assert.ok(!methods.includes('client_secret_jwt'), 'no HMAC client assertions (client_secret_jwt)');
    });

    it('RFC 9101 §10.4.1 (SSRF) — request_uri is not fetched: an attacker URL gets request_uri_not_supported and no request', async () => {
      assert.equal(discovery.request_uri_parameter_supported, false);
      const attacker = await startCountingServer('eyJhbGciOiJub25lIn0.e30.');
      try {
        const answer = await send(f.authorizationUrl({ request_uri: `${attacker.url}/request.jwt` }));
        const redirect = redirectedTo(answer.location, callback, `(${answer.status})`);
        assert.equal(redirect.searchParams.get('error'), 'request_uri_not_supported');
        assert.equal(redirect.searchParams.get('code'), null);
        assert.equal(attacker.hits, 0, 'the server never contacted the request_uri');
      } finally {
        await attacker.close();
      }
    });

    it('RFC 8414 §3.3 / OIDC Discovery §4.3 — a forged Host or X-Forwarded-Host header never changes the advertised issuer', async () => {
      const url = `${f.url}/.well-known/openid-configuration`;
      for (const headers of [{ host: 'attacker.example.test' }, { 'x-forwarded-host': 'attacker.example.test', 'x-forwarded-proto': 'https' }] as Record<string, string>[]) {
        const answer = await rawGet(url, headers);
        assert.equal(answer.status, 200, answer.body);
        const metadata = JSON.parse(answer.body) as Record<string, string>;
        assert.equal(metadata.issuer, f.issuer, `issuer with ${JSON.stringify(headers)}`);
      }
      // Without a trusted proxy, X-Forwarded-* must not leak into the document at all.
      const forwarded = JSON.parse((await rawGet(url, { 'x-forwarded-host': 'attacker.example.test', 'x-forwarded-proto': 'https' })).body) as Record<string, string>;
      assert.ok(!JSON.stringify(forwarded).includes('attacker.example.test'), 'X-Forwarded-Host is ignored when TRUST_PROXY is off');
    });

    it('RFC 6797 §7.2 — no Strict-Transport-Security over plain http, even with a forged X-Forwarded-Proto: https', async () => {
      const answer = await rawGet(`${f.url}/.well-known/openid-configuration`, { 'x-forwarded-proto': 'https' });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['strict-transport-security'], undefined);
    });
  });

  describe('clickjacking (CWE-1021) and caching of pages', () => {
    it('RFC 9700 §4.16 (clickjacking) — the consent page cannot be framed and is no-store', async () => {
      const user = new BrowserlessUser(callback);
      const login = await user.open(f.authorizationUrl({ client_id: 'consent-app', scope: 'openid profile' }));
      const consent = await user.submit(login, `/interaction/${interactionUid(login.url)}/login`, { username, password });
      assert.match(consent.body, /name="decision"/, 'the consent page is shown');
      const answer = await send(consent.url, { headers: { cookie: user.jar.header() } });
      assert.equal(answer.status, 200);
      assertUnframeable(answer);
      assert.equal(answer.headers.get('referrer-policy'), 'no-referrer');
    });

    it('RFC 7034 / CSP frame-ancestors — the logout confirmation page cannot be framed and is no-store', async () => {
      const { user } = await f.signIn();
      const answer = await send(`${f.url}/session/end`, { headers: { cookie: user.jar.header() } });
      assert.equal(answer.status, 200);
      assert.match(answer.text, /Sign out\?/);
      assertUnframeable(answer);
    });

    it('RFC 7034 / CSP frame-ancestors — authorization and interaction error pages cannot be framed', async () => {
      const authorizeError = await send(f.authorizationUrl({ redirect_uri: 'https://attacker.example.test/cb' }));
      assertErrorPage(authorizeError);
      assertUnframeable(authorizeError);
      const interactionError = await send(`${f.url}/interaction/no-such-interaction`);
      assertErrorPage(interactionError);
      assertUnframeable(interactionError);
    });

    it('RFC 6749 §5.1 — every response carrying tokens or token data is Cache-Control: no-store', async () => {
      const clientCredentials = await f.token({ grant_type: 'client_credentials', resource: apis.main }, { basic: ['svc', f.secrets.svc!] });
      assert.equal(clientCredentials.status, 200, clientCredentials.text);
      const signedIn = await f.signIn();
      const code = await f.token(
        { grant_type: 'authorization_code', code: signedIn.code, code_verifier: signedIn.verifier, redirect_uri: callback },
        { basic: ['web', f.secrets.web!] },
      );
      assert.equal(code.status, 200, code.text);
      const refresh = await f.token({ grant_type: 'refresh_token', refresh_token: code.json!.refresh_token as string }, { basic: ['web', f.secrets.web!] });
      assert.equal(refresh.status, 200, refresh.text);
      const introspection = await send(`${f.url}/token/introspection`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`svc:${f.secrets.svc}`).toString('base64')}` },
        body: new URLSearchParams({ token: clientCredentials.json!.access_token as string }),
      });
      assert.equal(introspection.json?.active, true);
      const userinfo = await send(`${f.url}/me`, { headers: { authorization: `Bearer ${refresh.json!.access_token as string}` } });
      assert.equal(userinfo.status, 200);
      for (const [label, answer] of Object.entries({ clientCredentials, code, refresh, introspection, userinfo })) {
        assert.match(answer.headers.get('cache-control') ?? '', /no-store/, `${label} is no-store`);
      }
    });
  });

  describe('CORS', () => {
    it('RFC 9700 §2.6 — CORS is not supported at the authorization endpoint (no Access-Control-Allow-Origin)', async () => {
      const preflight = await send(f.authorizationUrl(), {
        method: 'OPTIONS',
        headers: { origin: 'https://attacker.example.test', 'access-control-request-method': 'GET' },
      });
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      const simple = await send(f.authorizationUrl(), { headers: { origin: 'https://attacker.example.test' } });
      assert.ok(simple.status < 500);
      assert.equal(simple.headers.get('access-control-allow-origin'), null);
    });

    it('CORS misconfiguration (CWE-942) — the admin API and the login pages grant no cross-origin read to an arbitrary origin', async () => {
      const adminToken = await f.adminToken();
      const preflight = await send(`${f.url}/admin/clients`, {
        method: 'OPTIONS',
        headers: { origin: 'https://attacker.example.test', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      const read = await send(`${f.url}/admin/clients`, { headers: { origin: 'https://attacker.example.test', authorization: `Bearer ${adminToken}` } });
      assert.equal(read.status, 200);
      assert.equal(read.headers.get('access-control-allow-origin'), null);
      assert.equal(read.headers.get('access-control-allow-credentials'), null);
      const user = new BrowserlessUser(callback);
      const login = await user.open(f.authorizationUrl());
      const page = await send(login.url, { headers: { cookie: user.jar.header(), origin: 'https://attacker.example.test' } });
      assert.equal(page.status, 200);
      assert.ok(csrfField(page.text).length >= 32, 'the login page with its CSRF token was served');
      assert.equal(page.headers.get('access-control-allow-origin'), null, 'the CSRF token cannot be read cross-origin');
    });
  });
});
