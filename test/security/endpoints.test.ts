// Adversarial requests at the endpoints that take a token or a logout: introspection (RFC 7662),
// revocation (RFC 7009), userinfo (OIDC Core §5.3 with RFC 6750 bearer rules) and RP-initiated
// logout: token scanning by other clients, forged and confused tokens, revocation of someone
// else's token, tokens in URLs, open redirects and CSRF on logout.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { BrowserlessUser } from '../helpers/http-login.js';
import { storesLabel } from '../helpers/server.js';
import {
  apis,
  assertErrorPage,
  assertionType,
  assertRefused,
  basicAuth,
  callback,
  createSigningKey,
  form,
  handBuiltJwt,
  hmacJwt,
  loggedOut,
  otherLoggedOut,
  redirectedTo,
  send,
  serverSigningKeys,
  signJwt,
  startFixture,
  type Answer,
  type Fixture,
  type ServerKey,
} from './support.js';

describe(`security: introspection, revocation, userinfo and end session (${storesLabel})`, () => {
  let f: Fixture;
  let serverKeys: Record<'ES256' | 'RS256', ServerKey>;

  before(async () => {
    f = await startFixture();
    serverKeys = await serverSigningKeys(f.server);
  });

  after(() => f?.cleanup());

  const auth = (clientId: string) => ({ authorization: basicAuth(clientId, f.secrets[clientId]!) });

  function introspect(token: string, headers: Record<string, string>, extra: Record<string, string> = {}): Promise<Answer> {
    return send(`${f.url}/token/introspection`, { method: 'POST', headers, body: form({ token, ...extra }) });
  }

  function revoke(token: string, headers: Record<string, string>, extra: Record<string, string> = {}): Promise<Answer> {
    return send(`${f.url}/token/revocation`, { method: 'POST', headers, body: form({ token, ...extra }) });
  }

  function userinfo(init: RequestInit = {}, query = ''): Promise<Answer> {
    return send(`${f.url}/me${query}`, init);
  }

  async function serviceToken(clientId = 'svc'): Promise<string> {
    const answer = await f.token({ grant_type: 'client_credentials', resource: apis.main }, { basic: [clientId, f.secrets[clientId]!] });
    assert.equal(answer.status, 200, answer.text);
    return answer.json!.access_token as string;
  }

  /** Copies of a genuine JWT re-signed by every forgery an attacker has. */
  async function forgeriesOf(token: string): Promise<Record<string, string>> {
    const claims = { ...decodeJwt(token), jti: crypto.randomUUID() };
    const header = decodeProtectedHeader(token);
    const attacker = await createSigningKey('ES256', header.kid);
    return {
      'alg none': handBuiltJwt({ ...header, alg: 'none' }, claims),
      'alg None without signature': handBuiltJwt({ ...header, alg: 'None' }, claims, ''),
      'HS256 keyed with the server public key (PEM)': await hmacJwt(serverKeys.ES256.publicPem, { ...header, alg: 'HS256' }, claims),
      'attacker key under the server kid': await signJwt(attacker, claims, { typ: header.typ }),
      'embedded attacker jwk': await signJwt(attacker, claims, { typ: header.typ, jwk: attacker.publicJwk }),
      'original signature on altered claims': `${token.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claims, scope: 'api.read api.write' })).toString('base64url')}.${token.split('.')[2]}`,
    };
  }

  describe('introspection (RFC 7662)', () => {
    it('RFC 7662 §2.3 — a protected resource with a wrong secret is answered 401 invalid_client', async () => {
      const answer = await introspect(await serviceToken(), { authorization: basicAuth('svc', 'not-the-secret') });
      assertRefused(answer, 401, 'invalid_client');
      assert.equal(answer.json?.active, undefined);
    });

    it('RFC 7662 §4 (token scanning) — another client learns only {"active": false} about opaque access and refresh tokens', async () => {
      const tokens = await f.codeFlowTokens('web', { scope: 'openid offline_access' });
      for (const token of [tokens.access_token!, tokens.refresh_token!]) {
        for (const hint of [undefined, 'access_token', 'refresh_token']) {
          const answer = await introspect(token, auth('other'), hint ? { token_type_hint: hint } : {});
          assert.deepEqual(answer.json, { active: false }, `hint ${hint}: ${answer.text}`);
        }
      }
      const own = await introspect(tokens.refresh_token!, auth('web'), { token_type_hint: 'access_token' });
      assert.equal(own.json?.active, true, 'the owner still sees its token (a lying hint changes nothing)');
    });

    it('RFC 7662 §4 — a client neither owning a JWT access token nor acting for its API gets {"active": false}', async () => {
      const token = await serviceToken();
      assert.deepEqual((await introspect(token, auth('web'))).json, { active: false });
      assert.deepEqual((await introspect(token, auth('apia'))).json, { active: false });
      assert.equal((await introspect(token, auth('svc'))).json?.active, true);
    });

    it('RFC 8725 §3.1 / §3.2 — forged copies of a genuine access token (alg none, alg confusion, attacker key, altered claims) are inactive', async () => {
      for (const [label, forged] of Object.entries(await forgeriesOf(await serviceToken()))) {
        const answer = await introspect(forged, auth('svc'));
        assert.deepEqual(answer.json, { active: false }, `${label}: ${answer.text}`);
      }
    });

    it('RFC 8725 §3.10 — a private_key_jwt assertion with a jku or alg none is refused at introspection too', async () => {
      const token = await serviceToken();
      const withJku = await f.assertion({}, { jku: 'https://attacker.example.test/jwks.json' });
      const unsigned = handBuiltJwt({ alg: 'none' }, decodeJwt(await f.assertion()));
      for (const assertion of [withJku, unsigned]) {
        const answer = await send(`${f.url}/token/introspection`, { method: 'POST', body: form({ token, client_assertion_type: assertionType, client_assertion: assertion }) });
        assertRefused(answer, 401, 'invalid_client');
        assert.equal(answer.json?.active, undefined);
      }
    });

    it('RFC 6750 §5.3 — introspection does not take the token in a URL (GET with a query string)', async () => {
      const token = await serviceToken();
      const answer = await send(`${f.url}/token/introspection?${form({ token })}`, { headers: auth('svc') });
      assert.ok(answer.status >= 400 && answer.status < 500, `status ${answer.status}`);
      assert.notEqual(answer.json?.active, true);
    });

    it('CWE-158 (NUL byte) / RFC 7662 §2.2 — a NUL byte in the introspected token or in the client_id is answered without a server error', async () => {
      const answer = await introspect('opaque\u0000token', auth('svc'));
      assert.ok(answer.status < 500, `token with a NUL byte: no server error, got ${answer.status}`);
      assert.deepEqual(answer.json, { active: false });
      const client = await introspect('opaque-token', {}, { client_id: 'svc-post\u0000', client_secret: 'guess' });
      assert.ok(client.status < 500, `client_id with a NUL byte: no server error, got ${client.status}`);
      assertRefused(client, [400, 401], ['invalid_request', 'invalid_client']);
    });
  });

  describe('revocation (RFC 7009)', () => {
    it('RFC 7009 §2.1 — a client cannot revoke another client\'s refresh token: it keeps working', async () => {
      const tokens = await f.codeFlowTokens('web', { scope: 'openid offline_access' });
      const attempt = await revoke(tokens.refresh_token!, auth('other'), { token_type_hint: 'refresh_token' });
      assert.equal(attempt.status, 400, 'the client is told (RFC 7009 §2.1)');
      assert.equal(attempt.json?.error, 'invalid_request');
      const publicAttempt = await revoke(tokens.refresh_token!, {}, { client_id: 'spa' });
      assert.equal(publicAttempt.status, 400);
      const refreshed = await f.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { basic: ['web', f.secrets.web!] });
      assert.equal(refreshed.status, 200, `the owner can still refresh: ${refreshed.text}`);
    });

    it('RFC 7009 §2.1 — a client cannot revoke another client\'s JWT access token: it stays active', async () => {
      const token = await serviceToken();
      const attempt = await revoke(token, auth('other'));
      assert.equal(attempt.status, 400, 'the client is told (RFC 7009 §2.1)');
      assert.equal(attempt.json?.error, 'invalid_request');
      assert.equal((await introspect(token, auth('svc'))).json?.active, true);
    });

    it('RFC 7009 §2.1 — revocation without client authentication is refused and revokes nothing', async () => {
      const token = await serviceToken();
      for (const extra of [{}, { client_id: 'svc' }] as Record<string, string>[]) {
        assertRefused(await revoke(token, {}, extra), [400, 401], ['invalid_request', 'invalid_client']);
      }
      assert.equal((await introspect(token, auth('svc'))).json?.active, true);
    });

    it('CWE-158 (NUL byte) / RFC 7009 §2.2 — a NUL byte in the revoked token is answered without a server error', async () => {
      const answer = await revoke('opaque\u0000token', auth('svc'));
      assert.ok(answer.status < 500, `no server error, got ${answer.status}`);
      assert.equal(answer.status, 200, 'RFC 7009 §2.2: an invalid token needs no revocation');
    });
  });

  describe('userinfo (OIDC Core §5.3, RFC 6750)', () => {
    let tokens: Record<string, string>;

    before(async () => {
      tokens = await f.codeFlowTokens('web', { scope: 'openid profile offline_access' });
      const ok = await userinfo({ headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(ok.status, 200, ok.text);
    });

    it('RFC 6750 §2 — a token sent in the header and in the body (two methods) is 400 invalid_request', async () => {
      const answer = await userinfo({
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ access_token: tokens.access_token! }),
      });
      assertRefused(answer, 400, 'invalid_request');
      assert.equal(answer.json?.sub, undefined);
    });

    it('RFC 6750 §2.3 / §5.3 — a token in the query string is refused: no claims for a token in a URL', async () => {
      const answer = await userinfo({}, `?${form({ access_token: tokens.access_token! })}`);
      assertRefused(answer, [400, 401], ['invalid_request', 'invalid_token']);
      assert.equal(answer.json?.sub, undefined);
    });

    it('RFC 9068 §4 / RFC 8707 — an access token for an API (aud = the API) is refused at userinfo', async () => {
      const answer = await userinfo({ headers: { authorization: `Bearer ${await serviceToken()}` } });
      assertRefused(answer, 401, 'invalid_token');
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
    });

    it('token confusion (RFC 8725 §3.11) — an ID token, a refresh token or an admin token is not a userinfo access token', async () => {
      for (const [label, token] of [['id_token', tokens.id_token!], ['refresh_token', tokens.refresh_token!], ['admin token', await f.adminToken()]]) {
        const answer = await userinfo({ headers: { authorization: `Bearer ${token}` } });
        assertRefused(answer, 401, 'invalid_token');
        assert.equal(answer.json?.sub, undefined, label);
      }
    });

    it('RFC 8725 §3.1 — forged JWTs (alg none, alg confusion, attacker key) get 401 invalid_token and no claims', async () => {
      const userApiToken = (await f.codeFlowTokens('web', { scope: 'openid a.r', resource: apis.a })).access_token!;
      for (const [label, forged] of Object.entries(await forgeriesOf(userApiToken))) {
        const answer = await userinfo({ headers: { authorization: `Bearer ${forged}` } });
        assertRefused(answer, 401, 'invalid_token');
        assert.equal(answer.json?.sub, undefined, label);
      }
    });

    it('CWE-158 (NUL byte) / RFC 6750 §3.1 — a NUL byte in a body access_token is answered without a server error', async () => {
      const answer = await userinfo({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ access_token: 'abc\u0000def' }) });
      assert.ok(answer.status < 500, `no server error, got ${answer.status}`);
      assertRefused(answer, [400, 401]);
    });
  });

  describe('end session (OpenID Connect RP-Initiated Logout 1.0)', () => {
    let user: BrowserlessUser;
    let idToken: string;

    before(async () => {
      const signedIn = await f.signIn({}, { fresh: true });
      user = signedIn.user;
      const answer = await f.token(
        { grant_type: 'authorization_code', code: signedIn.code, code_verifier: signedIn.verifier, redirect_uri: callback },
        { basic: ['web', f.secrets.web!] },
      );
      assert.equal(answer.status, 200, answer.text);
      idToken = answer.json!.id_token as string;
    });

    const endSession = (params: Record<string, string>, who: BrowserlessUser = user) => who.request(`${f.url}/session/end?${form(params)}`);

    /** The user still has a session: prompt=none yields a code. */
    async function assertStillSignedIn(who: BrowserlessUser = user): Promise<void> {
      const step = await who.open(f.authorizationUrl({ prompt: 'none', scope: 'openid' }));
      const redirect = redirectedTo(step.location, callback, `(${step.status})`);
      assert.ok(redirect.searchParams.get('code'), `still signed in: ${redirect.href}`);
    }

    it('RP-Initiated Logout §3 / RFC 9700 §4.11.2 (open redirect) — an unregistered post_logout_redirect_uri is refused, never followed', async () => {
      const step = await endSession({ id_token_hint: idToken, post_logout_redirect_uri: 'https://attacker.example.test/' });
      assert.equal(step.status, 400);
      assert.equal(step.location, undefined);
      assert.ok(!step.body.includes('attacker.example.test'), 'the attacker URL is not put into a form either');
    });

    it('OIDC RP-Initiated Logout §3 — a post_logout_redirect_uri registered for another client is refused', async () => {
      const step = await endSession({ id_token_hint: idToken, post_logout_redirect_uri: otherLoggedOut });
      assert.equal(step.status, 400);
      assert.equal(step.location, undefined);
    });

    it('OIDC RP-Initiated Logout §2 — a client_id that does not match the id_token_hint audience is refused', async () => {
      const step = await endSession({ id_token_hint: idToken, client_id: 'other', post_logout_redirect_uri: otherLoggedOut });
      assert.equal(step.status, 400);
      assert.equal(step.location, undefined);
    });

    it('RFC 8725 §3.1 — forged id_token_hints (alg none, HS256 with the RSA public key, attacker key) are refused', async () => {
      const claims = decodeJwt(idToken);
      const header = decodeProtectedHeader(idToken);
      const attacker = await createSigningKey('RS256', header.kid);
      const forgeries = {
        none: handBuiltJwt({ alg: 'none' }, claims),
        hs256: await hmacJwt(serverKeys.RS256.publicPem, { kid: header.kid }, claims),
        attacker: await signJwt(attacker, claims),
      };
      for (const [label, forged] of Object.entries(forgeries)) {
        const step = await endSession({ id_token_hint: forged, post_logout_redirect_uri: loggedOut });
        assert.equal(step.status, 400, `${label}: ${step.status}`);
        assert.equal(step.location, undefined, label);
      }
    });

    it('RFC 9700 §4.11.2 (open redirect) — without id_token_hint or client_id, a post_logout_redirect_uri is dropped, never followed', async () => {
      const { user: victim } = await f.signIn({}, { fresh: true });
      const page = await endSession({ post_logout_redirect_uri: 'https://attacker.example.test/', state: 'x' }, victim);
      assert.equal(page.status, 200);
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)?.[1];
      assert.ok(xsrf, 'the logout confirmation form');
      const confirmed = await victim.request(`${f.url}/session/end/confirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ xsrf, logout: 'yes' }).toString(),
      });
      assert.ok(confirmed.status === 303 || confirmed.status === 302, `a redirect after logout: ${confirmed.status}`);
      assert.ok(confirmed.location?.startsWith(f.issuer), `stays on the issuer: ${confirmed.location}`);
    });

    it('RFC 9700 §4.7 (logout CSRF) — a confirmation POST without the xsrf token, or with an attacker\'s, leaves the session alone', async () => {
      const { user: victim } = await f.signIn({}, { fresh: true });
      const { user: attacker } = await f.signIn({}, { fresh: true });
      const attackerPage = await endSession({}, attacker);
      const attackerXsrf = /name="xsrf" value="([^"]+)"/.exec(attackerPage.body)?.[1];
      assert.ok(attackerXsrf);
      await endSession({}, victim);
      for (const body of [form({ logout: 'yes' }), form({ logout: 'yes', xsrf: attackerXsrf })]) {
        const forged = await victim.request(`${f.url}/session/end/confirm`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: body.toString(),
        });
        assert.equal(forged.status, 400, `refused: ${forged.status}`);
      }
      await assertStillSignedIn(victim);
    });

    it('CWE-158 (NUL byte) — a NUL byte in the logout client_id is refused without a server error', async () => {
      const step = await send(`${f.url}/session/end?${form({ client_id: '\u0000', post_logout_redirect_uri: loggedOut })}`);
      assert.ok(step.status < 500, `no server error, got ${step.status}`);
      assert.equal(step.location, undefined);
    });
  });

  describe('authorization endpoint and PAR with NUL bytes', () => {
    it('CWE-158 (NUL byte) / RFC 6749 §4.1.2.1 — a NUL byte in client_id at the authorization and PAR endpoints is a 4xx, not a server error', async () => {
      const authorize = await send(f.authorizationUrl({ client_id: '\u0000' }));
      assert.ok(authorize.status < 500, `authorization endpoint: got ${authorize.status}`);
      assertErrorPage(authorize);
      const pushed = await send(`${f.url}/request`, { method: 'POST', body: form({ client_id: '\u0000', response_type: 'code' }) });
      assert.ok(pushed.status < 500, `PAR endpoint: got ${pushed.status} ${pushed.text}`);
    });
  });
});
