// Adversarial requests at the token endpoint: every client authentication method
// (client_secret_basic, client_secret_post, private_key_jwt, none + PKCE) and every grant
// (authorization_code, refresh_token, client_credentials, token exchange) attacked with forged,
// replayed, raced, stolen, escalated, duplicated, oversized and malformed inputs.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { FlattenedSign, decodeJwt } from 'jose';
import { storesLabel } from '../helpers/server.js';
import {
  accessTokenType,
  apis,
  assertNoToken,
  assertRefused,
  assertionType,
  callback,
  createSigningKey,
  exchangeGrant,
  form,
  handBuiltJwt,
  hmacJwt,
  jwtTokenType,
  nowSeconds,
  pkcePair,
  send,
  serverSigningKeys,
  signJwt,
  startCountingServer,
  startFixture,
  type Answer,
  type Fixture,
  type ServerKey,
} from './support.js';

describe(`security: token endpoint (${storesLabel})`, () => {
  let f: Fixture;
  let serverKeys: Record<'ES256' | 'RS256', ServerKey>;
  const web = () => ({ basic: ['web', f.secrets.web!] as const });
  const svc = () => ({ basic: ['svc', f.secrets.svc!] as const });

  before(async () => {
    f = await startFixture();
    serverKeys = await serverSigningKeys(f.server);
  });

  after(() => f?.cleanup());

  function rawToken(body: string, headers: Record<string, string> = {}): Promise<Answer> {
    return send(`${f.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  }

  describe('client_secret_basic', () => {
    const badHeaders: [string, () => string][] = [
      ['a Basic header that is not base64', () => 'Basic !!!not-base64!!!'],
      ['a Basic header without a colon', () => `Basic ${Buffer.from('svc').toString('base64')}`],
      ['an empty Basic header', () => 'Basic '],
      ['a Basic header with two spaces', () => `Basic  ${Buffer.from(`svc:${f.secrets.svc}`).toString('base64')}`],
      ['a Basic header with broken percent-encoding', () => `Basic ${Buffer.from('svc:%E0%A4%A').toString('base64')}`],
      ['the client secret sent as a Bearer token', () => `Bearer ${f.secrets.svc}`],
    ];
    for (const [label, header] of badHeaders) {
      it(`RFC 6749 §2.3.1 — ${label} is 400 invalid_request, never a token`, async () => {
        assertRefused(await rawToken(form({ grant_type: 'client_credentials', resource: apis.main }).toString(), { authorization: header() }), 400, 'invalid_request');
      });
    }

    it('RFC 6749 §5.2 — a wrong secret in Basic is 401 invalid_client with a WWW-Authenticate: Basic challenge', async () => {
      const answer = await f.token({ grant_type: 'client_credentials', resource: apis.main }, { basic: ['svc', `${f.secrets.svc}x`] });
      assertRefused(answer, 401, 'invalid_client');
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Basic /);
    });

    it('RFC 6749 §2.3.1 — client_id is case-sensitive: SVC with the secret of svc is refused', async () => {
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main }, { basic: ['SVC', f.secrets.svc!] }), 401, 'invalid_client');
    });

    it('RFC 6749 §2.3 — credentials in both the Authorization header and the body are refused (one method only)', async () => {
      const body = form({ grant_type: 'client_credentials', resource: apis.main, client_id: 'svc', client_secret: f.secrets.svc });
      assertRefused(await rawToken(body.toString(), { authorization: `Basic ${Buffer.from(`svc:${f.secrets.svc}`).toString('base64')}` }), 400, 'invalid_request');
    });

    it('CWE-400 (oversized input) — a 20 KiB Authorization header is refused with a 4xx, never a token', async () => {
      const header = `Basic ${Buffer.from(`svc:${'x'.repeat(20 * 1024)}`).toString('base64')}`;
      const answer = await rawToken(form({ grant_type: 'client_credentials' }).toString(), { authorization: header });
      assert.ok(answer.status >= 400 && answer.status < 500, `status ${answer.status}`);
      assertNoToken(answer);
    });
  });

  describe('client_secret_post', () => {
    it('RFC 6749 §3.1 — a duplicated client_secret is refused', async () => {
      const body = `${form({ grant_type: 'client_credentials', client_id: 'svc-post', client_secret: f.secrets['svc-post'] })}&client_secret=guess`;
      assertRefused(await rawToken(body), 400, 'invalid_request');
    });

    it('RFC 6749 §2.3.1 — an empty client_secret is refused', async () => {
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main, client_id: 'svc-post', client_secret: '' }), [400, 401], ['invalid_request', 'invalid_client']);
    });

    it('RFC 6749 §3.2.1 — a confidential client presenting only its client_id (as if public) is 401 invalid_client', async () => {
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main }, { none: 'svc-post' }), 401, 'invalid_client');
    });

    it('CWE-158 (NUL byte) / RFC 6749 §5.2 — a NUL byte in client_id (client_secret_post, none, assertion sub) is a 4xx, not a server error', async () => {
      const nulAssertion = handBuiltJwt({ alg: 'ES256', kid: f.jwtKey.kid }, { iss: 'svc-jwt\u0000', sub: 'svc-jwt\u0000', aud: f.issuer, exp: nowSeconds() + 60, jti: crypto.randomUUID() }, 'c2ln');
      const answers = {
        post: await f.token({ grant_type: 'client_credentials' }, { post: ['svc-post\u0000', 'guess'] }),
        none: await f.token({ grant_type: 'client_credentials' }, { none: '\u0000' }),
        assertion: await f.token({ grant_type: 'client_credentials' }, { assertion: nulAssertion }),
      };
      for (const [label, answer] of Object.entries(answers)) {
        assert.ok(answer.status < 500, `${label}: no server error, got ${answer.status} ${answer.text}`);
        assertRefused(answer, [400, 401]);
      }
    });
  });

  describe('none (public clients) and PKCE', () => {
    it('RFC 7636 §4.6 / RFC 9700 §2.1.1 — a public client redeeming a code without code_verifier gets invalid_grant', async () => {
      const { code } = await f.signIn({ client_id: 'spa' });
      assertRefused(await f.token({ grant_type: 'authorization_code', code, redirect_uri: callback }, { none: 'spa' }), 400, 'invalid_grant');
    });

    it('RFC 9700 §4.8 (PKCE downgrade) — presenting the S256 challenge itself as a plain verifier gets invalid_grant', async () => {
      const { code, verifier } = await f.signIn({ client_id: 'spa' });
      const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
      assertRefused(await f.token({ grant_type: 'authorization_code', code, code_verifier: challenge, redirect_uri: callback }, { none: 'spa' }), 400, 'invalid_grant');
    });

    it('RFC 9700 §4.5 (code injection) — the verifier of another flow does not redeem a code', async () => {
      const victim = await f.signIn({ client_id: 'spa' });
      const attacker = await f.signIn({ client_id: 'spa' });
      assertRefused(await f.token({ grant_type: 'authorization_code', code: victim.code, code_verifier: attacker.verifier, redirect_uri: callback }, { none: 'spa' }), 400, 'invalid_grant');
    });

    it('RFC 7636 §4.1 — a code_verifier shorter than 43 characters is refused', async () => {
      const { code } = await f.signIn({ client_id: 'spa' });
      assertRefused(await f.token({ grant_type: 'authorization_code', code, code_verifier: 'short', redirect_uri: callback }, { none: 'spa' }), 400, ['invalid_request', 'invalid_grant']);
    });

    it('RFC 6749 §4.1.2 / RFC 9700 §4.2.4 — a public client\'s code raced 6 times: one wins, and the replays revoke what it got', async () => {
      // A browser of its own: the replays revoke this grant, which the shared session must not inherit.
      const { code, verifier } = await f.signIn({ client_id: 'spa' }, { fresh: true });
      const results = await Promise.all(
        Array.from({ length: 6 }, () => f.token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback }, { none: 'spa' })),
      );
      const winners = results.filter((answer) => answer.status === 200);
      assert.equal(winners.length, 1, `exactly one redemption: ${results.map((answer) => answer.status).join(' ')}`);
      for (const loser of results.filter((answer) => answer.status !== 200)) assertRefused(loser, 400, 'invalid_grant');
      const refresh = await f.token({ grant_type: 'refresh_token', refresh_token: winners[0]!.json!.refresh_token as string }, { none: 'spa' });
      assertRefused(refresh, 400, 'invalid_grant');
    });

    it('RFC 6749 §4.1.3 — a public client\'s code cannot be redeemed by a confidential client', async () => {
      const { code, verifier } = await f.signIn({ client_id: 'spa' });
      assertRefused(await f.token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback }, web()), 400, 'invalid_grant');
    });

    it('RFC 6749 §2.3 — a public client that sends a client_secret is refused (not its registered method)', async () => {
      const { code, verifier } = await f.signIn({ client_id: 'spa' });
      assertRefused(await f.token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback }, { post: ['spa', 'invented-secret'] }), 401, 'invalid_client');
    });

    it('RFC 6749 §4.1.3 — a code redeemed with another registered redirect_uri gets invalid_grant', async () => {
      const { code, verifier } = await f.signIn({ client_id: 'other' });
      const answer = await f.token(
        { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: 'https://other.example.test/callback' },
        { basic: ['other', f.secrets.other!] },
      );
      assertRefused(answer, 400, 'invalid_grant');
    });

    it('RFC 6749 §4.1.3 — a code redeemed without the redirect_uri it was issued for is refused', async () => {
      const { code, verifier } = await f.signIn();
      assertRefused(await f.token({ grant_type: 'authorization_code', code, code_verifier: verifier }, web()), 400, ['invalid_request', 'invalid_grant']);
    });

    it('RFC 6749 §4.1.3 — a confidential client\'s code stolen by another confidential client gets invalid_grant', async () => {
      const { code, verifier } = await f.signIn();
      assertRefused(await f.token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback }, { basic: ['other', f.secrets.other!] }), 400, 'invalid_grant');
    });
  });

  describe('refresh tokens', () => {
    it('RFC 9700 §4.14.2 — of 8 parallel refreshes with one token exactly one wins, and the family is then revoked', async () => {
      const tokens = await f.codeFlowTokens('spa', {}, { fresh: true });
      const results = await Promise.all(
        Array.from({ length: 8 }, () => f.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { none: 'spa' })),
      );
      const winners = results.filter((answer) => answer.status === 200);
      assert.equal(winners.length, 1, `exactly one winner: ${results.map((answer) => answer.status).join(' ')}`);
      for (const loser of results.filter((answer) => answer.status !== 200)) assertRefused(loser, 400, 'invalid_grant');
      // The losers were replays of a rotated token: the winner's new refresh token dies with the family.
      const next = await f.token({ grant_type: 'refresh_token', refresh_token: winners[0]!.json!.refresh_token as string }, { none: 'spa' });
      assertRefused(next, 400, 'invalid_grant');
    });

    it('RFC 6749 §6 — a public client\'s refresh token is bound to it: another public client cannot use it', async () => {
      const tokens = await f.codeFlowTokens('spa');
      assertRefused(await f.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { none: 'spa2' }), 400, 'invalid_grant');
    });

    it('RFC 6749 §6 — a refresh cannot widen the scope beyond the original grant', async () => {
      const tokens = await f.codeFlowTokens('web', { scope: 'openid offline_access' });
      assertRefused(await f.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, scope: 'openid offline_access profile email' }, web()), 400, 'invalid_scope');
    });

    it('RFC 8707 §2.2 — a refresh cannot add an API the grant was not given, nor the admin API', async () => {
      const tokens = await f.codeFlowTokens('web', { scope: 'openid offline_access' });
      assertRefused(await f.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, resource: apis.main, scope: 'api.read' }, web()), 400, ['invalid_target', 'invalid_scope', 'invalid_grant']);
      const again = await f.codeFlowTokens('web', { scope: 'openid offline_access' });
      assertRefused(await f.token({ grant_type: 'refresh_token', refresh_token: again.refresh_token!, resource: `${f.issuer}/admin`, scope: 'admin' }, web()), 400, ['invalid_target', 'invalid_scope', 'invalid_grant']);
    });
  });

  describe('private_key_jwt', () => {
    it('RFC 7523 §3 (replay) — an assertion used at the token endpoint is refused at introspection, and vice versa', async () => {
      const first = await f.assertion();
      assert.equal((await f.token({ grant_type: 'client_credentials', resource: apis.main }, { assertion: first })).status, 200);
      const replayed = await send(`${f.url}/token/introspection`, { method: 'POST', body: form({ token: 'x', client_assertion_type: assertionType, client_assertion: first }) });
      assertRefused(replayed, 401, 'invalid_client');
      const second = await f.assertion();
      const introspection = await send(`${f.url}/token/introspection`, { method: 'POST', body: form({ token: 'x', client_assertion_type: assertionType, client_assertion: second }) });
      assert.equal(introspection.status, 200, introspection.text);
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main }, { assertion: second }), 401, 'invalid_client');
    });

    it('RFC 8725 §3.10 / RFC 7515 §4.1.2 (jku, x5u SSRF) — key URLs in the header are refused and never fetched', async () => {
      const attacker = await startCountingServer();
      try {
        for (const name of ['jku', 'x5u']) {
          const signed = await f.assertion({}, { [name]: `${attacker.url}/keys` });
          assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main }, { assertion: signed }), 401, 'invalid_client');
        }
        assert.equal(attacker.hits, 0, 'the attacker URL was never fetched');
      } finally {
        await attacker.close();
      }
    });

    it('RFC 7515 §4.1.11 — an assertion with an unknown critical header parameter is refused', async () => {
      const signed = await signJwt(
        f.jwtKey,
        { iss: 'svc-jwt', sub: 'svc-jwt', aud: f.issuer, iat: nowSeconds(), exp: nowSeconds() + 60, jti: crypto.randomUUID() },
        { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true },
        { 'urn:example:must-understand': true },
      );
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main }, { assertion: signed }), [400, 401], ['invalid_request', 'invalid_client']);
    });

    it('RFC 7523 §2.2 — a JWS JSON serialization instead of a compact JWT is refused', async () => {
      const claims = { iss: 'svc-jwt', sub: 'svc-jwt', aud: f.issuer, iat: nowSeconds(), exp: nowSeconds() + 60, jti: crypto.randomUUID() };
      const flattened = await new FlattenedSign(new TextEncoder().encode(JSON.stringify(claims)))
        .setProtectedHeader({ alg: 'ES256', kid: f.jwtKey.kid })
        .sign(f.jwtKey.privateKey);
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main }, { assertion: JSON.stringify(flattened) }), [400, 401], ['invalid_request', 'invalid_client']);
    });

    it('RFC 8725 §2.1 — an HS256 assertion keyed with a client_secret_basic client\'s own secret is refused (no client_secret_jwt)', async () => {
      const claims = { iss: 'svc', sub: 'svc', aud: f.issuer, iat: nowSeconds(), exp: nowSeconds() + 60, jti: crypto.randomUUID() };
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main }, { assertion: await hmacJwt(f.secrets.svc!, {}, claims) }), 401, 'invalid_client');
    });

    it('RFC 7523 §3 (lifetime) — an absurd exp (1e20) is refused', async () => {
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main }, { assertion: await f.assertion({ exp: 1e20 }) }), 401, 'invalid_client');
    });

    it('RFC 6749 §2.3 — an assertion together with a client_secret (two methods) is refused', async () => {
      const answer = await f.token({ grant_type: 'client_credentials', resource: apis.main, client_secret: 'also-a-secret', client_assertion_type: assertionType, client_assertion: await f.assertion() });
      assertRefused(answer, [400, 401], ['invalid_request', 'invalid_client']);
    });

    it('RFC 7517 §4 / CWE-20 — a client registered with an unusable EC key is refused with 401, not a server error', async () => {
      const key = await createSigningKey('ES256');
      await f.admin('POST', '/admin/clients', {
        client_id: 'svc-broken-key',
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA', kid: key.kid, alg: 'ES256', use: 'sig' }] },
        scope: 'api.read',
      });
      const signed = await signJwt(key, { iss: 'svc-broken-key', sub: 'svc-broken-key', aud: f.issuer, iat: nowSeconds(), exp: nowSeconds() + 60, jti: crypto.randomUUID() });
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main }, { assertion: signed }), 401, 'invalid_client');
    });

    it('SSRF (CWE-918) — a jwks_uri on the cloud metadata address is never fetched: 401 at once', async () => {
      const key = await createSigningKey('ES256');
      await f.admin('POST', '/admin/clients', {
        client_id: 'svc-metadata-jwks',
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: 'http://169.254.169.254/latest/meta-data/jwks.json',
        scope: 'api.read',
      });
      const signed = await signJwt(key, { iss: 'svc-metadata-jwks', sub: 'svc-metadata-jwks', aud: f.issuer, iat: nowSeconds(), exp: nowSeconds() + 60, jti: crypto.randomUUID() });
      const started = Date.now();
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main }, { assertion: signed }), 401, 'invalid_client');
      assert.ok(Date.now() - started < 2000, `refused before any connection attempt (${Date.now() - started} ms)`);
    });
  });

  describe('token exchange: scope and audience escalation (RFC 8693)', () => {
    let userToken: string;
    const apia = () => ({ basic: ['apia', f.secrets.apia!] as const });
    const exchange = (params: Record<string, string | readonly string[] | undefined>, auth: { basic: readonly [string, string] } = apia()) =>
      f.token({ grant_type: exchangeGrant, subject_token: userToken, subject_token_type: accessTokenType, ...params }, auth);

    before(async () => {
      const tokens = await f.codeFlowTokens('web', { scope: 'openid a.r', resource: apis.a });
      userToken = tokens.access_token!;
      assert.equal(decodeJwt(userToken).aud, apis.a);
      // The legitimate hop works, so every refusal below is about the attack.
      const legit = await exchange({ resource: apis.b, scope: 'b.r' });
      assert.equal(legit.status, 200, legit.text);
    });

    it('RFC 8693 §2.1 / §5 — asking for the admin scope in an exchange is refused', async () => {
      assertRefused(await exchange({ resource: apis.b, scope: 'admin' }), 400, ['invalid_scope', 'invalid_target']);
    });

    it('RFC 8693 §2.1 / RFC 8707 §2 — the admin API as audience or resource of an exchange is invalid_target', async () => {
      assertRefused(await exchange({ audience: `${f.issuer}/admin` }), 400, 'invalid_target');
      assertRefused(await exchange({ resource: `${f.issuer}/admin`, scope: 'admin' }), 400, ['invalid_target', 'invalid_scope']);
    });

    it('RFC 8693 §2.2.2 — an admin access token is not a subject a service may trade', async () => {
      const adminToken = await f.adminToken();
      assertRefused(await exchange({ subject_token: adminToken, resource: apis.b }), 400, 'invalid_grant');
    });

    it('RFC 8693 §2.1 — a refresh token or an ID token presented as the subject is refused', async () => {
      const tokens = await f.codeFlowTokens('web', { scope: 'openid offline_access' });
      assertRefused(await exchange({ subject_token: tokens.refresh_token!, resource: apis.b }), 400, 'invalid_grant');
      assertRefused(await exchange({ subject_token: tokens.id_token!, subject_token_type: jwtTokenType, resource: apis.b }), 400, 'invalid_grant');
    });

    it('kid injection (RFC 8725 §3.10) — a subject token signed by an attacker key under the server\'s kid is refused', async () => {
      const attackerKey = await createSigningKey('ES256', serverKeys.ES256.kid);
      const forged = await signJwt(attackerKey, { ...decodeJwt(userToken), jti: crypto.randomUUID() }, { typ: 'at+jwt' });
      assertRefused(await exchange({ subject_token: forged, resource: apis.b }), 400, 'invalid_grant');
    });

    it('algorithm confusion (RFC 8725 §2.1, CVE-2015-9235 class) — an HS256 subject token keyed with the server public key is refused', async () => {
      for (const secret of [serverKeys.ES256.publicPem, JSON.stringify(serverKeys.ES256.publicJwk)]) {
        const forged = await hmacJwt(secret, { kid: serverKeys.ES256.kid, typ: 'at+jwt' }, { ...decodeJwt(userToken), jti: crypto.randomUUID() });
        assertRefused(await exchange({ subject_token: forged, resource: apis.b }), 400, 'invalid_grant');
      }
    });

    it('RFC 8725 §3.11 (explicit typing) — a JWT signed by the server but not typed at+jwt is refused as a subject', async () => {
      const claims = { ...decodeJwt(userToken), jti: crypto.randomUUID() };
      for (const typ of ['JWT', undefined]) {
        const confused = await signJwt(serverKeys.ES256, claims, { typ });
        assertRefused(await exchange({ subject_token: confused, resource: apis.b }), 400, 'invalid_grant');
      }
    });

    it('RFC 7519 §4.1.4 — an expired subject token (genuinely signed) is refused', async () => {
      const now = nowSeconds();
      const expired = await signJwt(serverKeys.ES256, { ...decodeJwt(userToken), jti: crypto.randomUUID(), iat: now - 900, exp: now - 300 }, { typ: 'at+jwt' });
      assertRefused(await exchange({ subject_token: expired, resource: apis.b }), 400, 'invalid_grant');
    });

    it('RFC 8693 §2.1 — requested_token_type refresh_token or id_token is refused: an exchange never mints those', async () => {
      for (const type of ['urn:ietf:params:oauth:token-type:refresh_token', 'urn:ietf:params:oauth:token-type:id_token']) {
        assertRefused(await exchange({ resource: apis.b, requested_token_type: type }), 400, 'invalid_request');
      }
    });

    it('RFC 6749 §3.1 — a duplicated subject_token is refused', async () => {
      assertRefused(await exchange({ resource: apis.b, subject_token: [userToken, userToken] }), 400, 'invalid_request');
    });

    it('RFC 8693 §5 (delegation) — a service cannot trade back a token it minted for another API, nor loop the chain to an API it may not reach', async () => {
      const toB = await exchange({ resource: apis.b, scope: 'b.r' });
      assert.equal(toB.status, 200, toB.text);
      const bToken = toB.json!.access_token as string;
      // apia does not act for B: it may not re-trade what it sent there.
      assertRefused(await exchange({ subject_token: bToken, resource: apis.b }), 400, 'invalid_grant');
      // apib acts for B but holds no scope of A: no way back up the chain.
      assertRefused(await exchange({ subject_token: bToken, resource: apis.a }, { basic: ['apib', f.secrets.apib!] }), 400, ['invalid_target', 'invalid_scope']);
      // An exchanged token is no admin token.
      const admin = await send(`${f.url}/admin/clients`, { headers: { authorization: `Bearer ${bToken}` } });
      assert.equal(admin.status, 403);
    });
  });

  describe('grants and malformed requests', () => {
    for (const grant of ['password', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:saml2-bearer']) {
      it(`RFC 9700 §2.4 / RFC 6749 §5.2 — grant_type ${grant} is unsupported_grant_type`, async () => {
        assertRefused(await f.token({ grant_type: grant, username: 'alice', password: 'x', assertion: 'a.b.c', device_code: 'x' }, svc()), 400, 'unsupported_grant_type');
      });
    }

    it('RFC 6749 §3.1 — a duplicated grant_type is refused', async () => {
      assertRefused(await f.token({ grant_type: ['client_credentials', 'client_credentials'], resource: apis.main }, svc()), 400, 'invalid_request');
    });

    it('RFC 6749 §3.2 — a JSON body, broken JSON or text/plain is not a token request', async () => {
      const credentials = `Basic ${Buffer.from(`svc:${f.secrets.svc}`).toString('base64')}`;
      const json = await send(`${f.url}/token`, { method: 'POST', headers: { authorization: credentials, 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', resource: apis.main }) });
      assertRefused(json, 400, 'invalid_request');
      const bad = await send(`${f.url}/token`, { method: 'POST', headers: { authorization: credentials, 'content-type': 'application/json' }, body: '{"grant_type": "client_credentials",' });
      assertRefused(bad, 400, 'invalid_request');
      const textPlain = await send(`${f.url}/token`, { method: 'POST', headers: { authorization: credentials, 'content-type': 'text/plain' }, body: form({ grant_type: 'client_credentials', resource: apis.main }).toString() });
      assertRefused(textPlain, 400, 'invalid_request');
    });

    it('RFC 6749 §3.2 — the token endpoint does not take a request in the query string (GET)', async () => {
      const answer = await send(`${f.url}/token?${form({ grant_type: 'client_credentials', client_id: 'svc-post', client_secret: f.secrets['svc-post'] })}`);
      assert.ok(answer.status >= 400 && answer.status < 500, `status ${answer.status}`);
      assertNoToken(answer);
    });

    it('CWE-400 (oversized input) — a 2 MiB body and a 100 000-character scope are refused with a 4xx', async () => {
      const credentials = { authorization: `Basic ${Buffer.from(`svc:${f.secrets.svc}`).toString('base64')}` };
      const huge = await rawToken(`grant_type=client_credentials&resource=${encodeURIComponent(apis.main)}&padding=${'a'.repeat(2 * 1024 * 1024)}`, credentials);
      assert.ok(huge.status >= 400 && huge.status < 500, `status ${huge.status}`);
      assertNoToken(huge);
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main, scope: 'a'.repeat(100_000) }, svc()), 400);
    });

    it('CWE-158 (NUL byte) / RFC 6749 §5.2 — NUL bytes in grant_type, scope and resource are 400, never a token', async () => {
      assertRefused(await rawToken(`grant_type=client_credentials%00&resource=${encodeURIComponent(apis.main)}`, { authorization: `Basic ${Buffer.from(`svc:${f.secrets.svc}`).toString('base64')}` }), 400);
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main, scope: 'api.read\u0000api.write' }, svc()), 400, 'invalid_scope');
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: `${apis.main}\u0000` }, svc()), 400, 'invalid_target');
    });

    it('RFC 6749 §4.4 / RFC 8707 §2 — client credentials cannot reach the admin API or a scope the client does not hold', async () => {
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: `${f.issuer}/admin` }, svc()), 400, ['invalid_target', 'invalid_scope']);
      assertRefused(await f.token({ grant_type: 'client_credentials', resource: apis.main, scope: 'api.read api.write' }, svc()), 400, 'invalid_scope');
      const code = pkcePair();
      assertRefused(await f.token({ grant_type: 'authorization_code', code: 'forged-code', code_verifier: code.verifier, redirect_uri: callback }, svc()), 400, 'unauthorized_client');
    });

    it('regression: CWE-204 (response discrepancy) — client_credentials told a scope no API defines from one the client may not have, so any client could enumerate scope names; both get one answer', async () => {
      // svc holds api.read. b.r / b.w exist (at an API svc cannot reach), api.write exists (at
      // its own API); the others exist nowhere. Without resource every one is answered alike.
      const guesses = ['b.w', 'b.x', 'api.write', 'api.writ', 'admin', 'admin2'];
      for (const scope of guesses) {
        const answer = await f.token({ grant_type: 'client_credentials', scope }, svc());
        assertRefused(answer, 400, 'invalid_scope');
        assert.deepEqual(answer.json, { error: 'invalid_scope', error_description: 'requested scope is not allowed for this client', scope }, scope);
      }
    });

    it('regression: RFC 6749 §5.2 — a grant the client is not registered for was invalid_request; it is unauthorized_client, never before authentication', async () => {
      const code = pkcePair();
      assertRefused(await f.token({ grant_type: 'authorization_code', code: 'forged-code', code_verifier: code.verifier, redirect_uri: callback }, svc()), 400, 'unauthorized_client');
      assertRefused(await f.token({ grant_type: 'refresh_token', refresh_token: 'forged-refresh-token' }, svc()), 400, 'unauthorized_client');
      // Without valid credentials the answer is invalid_client, whatever the grant.
      const forged = { basic: ['svc', 'not-the-secret'] as const };
      assertRefused(await f.token({ grant_type: 'authorization_code', code: 'forged-code', code_verifier: code.verifier, redirect_uri: callback }, forged), 401, 'invalid_client');
    });
  });
});
