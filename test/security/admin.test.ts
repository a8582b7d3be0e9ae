// Adversarial requests at the admin API: forged and confused bearer tokens (alg none, kid / jku /
// x5u / jwk injection, ID tokens, user-delegated tokens), and registration input that would plant
// an attack (javascript: and data: redirect URIs, private or symmetric keys, secrets chosen by the
// caller, prototype pollution), path tricks and malformed or hostile bodies.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { BrowserlessUser } from '../helpers/http-login.js';
import { adminClientId, adminClientSecret, storesLabel } from '../helpers/server.js';
import {
  apis,
  assertRefused,
  basicAuth,
  callback,
  createSigningKey,
  handBuiltJwt,
  hmacJwt,
  nowSeconds,
  send,
  serverSigningKeys,
  signJwt,
  startCountingServer,
  startFixture,
  type Answer,
  type Fixture,
  type ServerKey,
} from './support.js';

describe(`security: admin API (${storesLabel})`, () => {
  let f: Fixture;
  let adminToken: string;
  let serverKeys: Record<'ES256' | 'RS256', ServerKey>;

  before(async () => {
    f = await startFixture();
    adminToken = await f.adminToken();
    serverKeys = await serverSigningKeys(f.server);
  });

  after(() => f?.cleanup());

  function call(method: string, route: string, options: { token?: string | null; json?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? adminToken : options.token;
    if (token !== null) headers.authorization ??= `Bearer ${token}`;
    let body: string | undefined;
    if (options.json !== undefined || options.raw !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = options.raw ?? JSON.stringify(options.json);
    }
    return send(`${f.url}/admin${route}`, { method, headers, ...(body === undefined ? {} : { body }) });
  }

  /** 401 with a Bearer challenge and nothing of the admin data. */
  function assertUnauthorized(answer: Answer, label = ''): void {
    assert.equal(answer.status, 401, `${label}: ${answer.status} ${answer.text.slice(0, 200)}`);
    assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer/, label);
    assert.equal(answer.json?.items, undefined, label);
  }

  function adminClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const now = nowSeconds();
    return {
      iss: f.issuer,
      aud: `${f.issuer}/admin`,
      sub: adminClientId,
      client_id: adminClientId,
      scope: 'admin',
      jti: crypto.randomUUID(),
      iat: now,
      exp: now + 300,
      ...overrides,
    };
  }

  describe('bearer token forgeries (RFC 6750 §3, RFC 8725)', () => {
    it('RFC 8725 §3.2 — an unsigned (alg none) token with perfect admin claims is 401', async () => {
      for (const alg of ['none', 'NONE', 'nOnE']) {
        assertUnauthorized(await call('GET', '/clients', { token: handBuiltJwt({ alg, typ: 'at+jwt', kid: serverKeys.ES256.kid }, adminClaims()) }), alg);
      }
    });

    it('kid injection (RFC 8725 §3.10) — attacker-signed tokens under the server kid, a path-traversal kid or an SQL kid are 401', async () => {
      for (const kid of [serverKeys.ES256.kid, '../../../../dev/null', "x' UNION SELECT 'attacker-key' --", '', 'k'.repeat(2048)]) {
        const attacker = await createSigningKey('ES256', kid || undefined);
        assertUnauthorized(await call('GET', '/clients', { token: await signJwt(attacker, adminClaims(), { typ: 'at+jwt', kid }) }), `kid ${kid.slice(0, 40)}`);
      }
    });

    it('RFC 8725 §3.10 / RFC 7515 §4.1.2-§4.1.6 — jku, x5u, jwk and x5c headers pointing at attacker keys are 401 and never fetched', async () => {
      const attacker = await createSigningKey('ES256');
      const keyServer = await startCountingServer(JSON.stringify({ keys: [attacker.publicJwk] }));
      try {
        const headers: Record<string, unknown>[] = [
          { jku: `${keyServer.url}/jwks.json` },
          { x5u: `${keyServer.url}/cert.pem` },
          { jwk: attacker.publicJwk },
          { x5c: ['MIIBszCCAVmgAwIBAgIUAA=='] },
        ];
        for (const header of headers) {
          const token = await signJwt(attacker, adminClaims(), { typ: 'at+jwt', ...header });
          assertUnauthorized(await call('GET', '/clients', { token }), Object.keys(header)[0]);
        }
        assert.equal(keyServer.hits, 0, 'no key URL was fetched');
      } finally {
        await keyServer.close();
      }
    });

    it('algorithm confusion (RFC 8725 §2.1, CVE-2016-10555 class) — HS256 keyed with the published JWKS or the RSA public key is 401', async () => {
      const jwks = (await send(`${f.url}/jwks`)).text;
      for (const [secret, kid] of [[jwks, serverKeys.ES256.kid], [serverKeys.RS256.publicPem, serverKeys.RS256.kid], [JSON.stringify(serverKeys.RS256.publicJwk), serverKeys.RS256.kid]]) {
        assertUnauthorized(await call('GET', '/clients', { token: await hmacJwt(secret!, { typ: 'at+jwt', kid }, adminClaims()) }));
      }
    });

    it('token confusion (RFC 8725 §3.11) — an ID token or a userinfo access token of a signed-in user is not an admin token', async () => {
      const tokens = await f.codeFlowTokens('web', { scope: 'openid offline_access' });
      assertUnauthorized(await call('GET', '/clients', { token: tokens.id_token! }), 'id_token');
      assertUnauthorized(await call('GET', '/clients', { token: tokens.access_token! }), 'opaque access token');
      assertUnauthorized(await call('GET', '/clients', { token: tokens.refresh_token! }), 'refresh token');
    });

    it('privilege escalation (RFC 9700 §4.15) — a user-delegated token with the admin scope and audience is 403, not admin', async () => {
      const created = await call('POST', '/clients', {
        json: { client_id: 'admin-scoped-web', grant_types: ['authorization_code'], redirect_uris: [callback], scope: 'openid admin', first_party: true },
      });
      assert.equal(created.status, 201, created.text);
      const signedIn = await f.signIn({ client_id: 'admin-scoped-web', scope: 'openid admin', resource: `${f.issuer}/admin` });
      const answer = await f.token(
        { grant_type: 'authorization_code', code: signedIn.code, code_verifier: signedIn.verifier, redirect_uri: callback, resource: `${f.issuer}/admin` },
        { basic: ['admin-scoped-web', created.json!.client_secret as string] },
      );
      if (answer.status === 200) {
        const token = answer.json!.access_token as string;
        assert.equal(decodeJwt(token).sub, f.userSub, 'a token for the user');
        const refused = await call('GET', '/clients', { token });
        assert.equal(refused.status, 403, refused.text);
        assert.equal(refused.json?.items, undefined);
      } else {
        assertRefused(answer, [400, 401]);
      }
    });

    it('RFC 6750 §2.3 / §5.3 — an admin token in the query string or a form body is not accepted', async () => {
      assertUnauthorized(await call('GET', `/clients?access_token=${adminToken}`, { token: null }));
      const form = await send(`${f.url}/admin/clients`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ access_token: adminToken }) });
      assertUnauthorized(form);
    });

    it('RFC 6750 §3 — the admin client\'s own Basic credentials, two tokens, or a bearer with trailing junk are 401', async () => {
      for (const header of [basicAuth(adminClientId, adminClientSecret), `Bearer ${adminToken} ${adminToken}`, `Bearer ${adminToken}\u0009x`, `Bearer ${adminToken},x`]) {
        assertUnauthorized(await call('GET', '/clients', { headers: { authorization: header } }), header.slice(0, 12));
      }
    });

    it('RFC 7009 §2 / revocation reach — an admin token revoked by jti is refused at once', async () => {
      const token = await f.adminToken();
      assert.equal((await call('GET', '/keys', { token })).status, 200);
      const revoked = await call('POST', '/revocations', { json: { jti: decodeJwt(token).jti } });
      assert.ok(revoked.status >= 200 && revoked.status < 300, revoked.text);
      assertUnauthorized(await call('GET', '/keys', { token }));
    });

    it('regression: a demoted admin client kept the admin API until its token expired — PUT removing admin revokes the token it holds (401 invalid_token)', async () => {
      const created = await call('POST', '/clients', { json: { client_id: 'deputy-admin', grant_types: ['client_credentials'], scope: 'admin api.read' } });
      assert.equal(created.status, 201, created.text);
      const deputy = { id: 'deputy-admin', secret: created.json?.client_secret as string };
      const tokenAnswer = await send(`${f.url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(deputy.id, deputy.secret) },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }),
      });
      assert.equal(tokenAnswer.status, 200, tokenAnswer.text);
      const token = tokenAnswer.json?.access_token as string;
      assert.equal((await call('GET', '/clients', { token })).status, 200, 'an admin before the change');

      const demoted = await call('PUT', '/clients/deputy-admin', { json: { grant_types: ['client_credentials'], scope: 'api.read' } });
      assert.equal(demoted.status, 200, demoted.text);

      // Revoked by the PUT (admin is an API scope: every token the client holds as itself, whose
      // sub is its client_id), so the token is no longer a valid credential at all: 401
      // invalid_token, as for any revoked token (RFC 6750 §3.1).
      const listing = await call('GET', '/clients', { token });
      assertUnauthorized(listing, 'list');
      assert.match(listing.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      const promotion = await call('POST', '/clients', { token, json: { client_id: 'deputy-minted-admin', grant_types: ['client_credentials'], scope: 'admin' } });
      assertUnauthorized(promotion, 'create');
      assert.equal((await call('GET', '/clients/deputy-minted-admin')).status, 404, 'no client was created');
      assert.equal((await call('POST', '/users', { token, json: { username: 'deputy-made', password: 'a long enough password' } })).status, 401);

      const again = await send(`${f.url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(deputy.id, deputy.secret) },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }),
      });
      assertRefused(again, 400, 'invalid_scope');
    });
  });

  // PUT /admin/clients/{id} withdrawing a scope (issue #14 item 6): it used to revoke every token
  // ever issued to the client (kind 'client'), so dropping even `profile` from an app signed out
  // all its users. Now only an API scope's withdrawal revokes, and only the tokens the client
  // holds as itself; users' grants live on and can no longer yield the scope.
  describe('scope withdrawal (PUT /admin/clients/{client_id})', () => {
    const opaqueApi = 'https://opaque.security.test';
    const code = ['authorization_code', 'refresh_token'];

    before(async () => {
      const created = await call('POST', '/resources', { json: { identifier: opaqueApi, scopes: ['op.read'], access_token_format: 'opaque' } });
      assert.equal(created.status, 201, created.text);
    });

    async function register(metadata: Record<string, unknown>): Promise<{ id: string; basic: readonly [string, string] }> {
      const created = await call('POST', '/clients', { json: metadata });
      assert.equal(created.status, 201, created.text);
      const id = created.json!.client_id as string;
      return { id, basic: [id, created.json!.client_secret as string] };
    }

    async function replace(clientId: string, metadata: Record<string, unknown>): Promise<void> {
      const replaced = await call('PUT', `/clients/${clientId}`, { json: metadata });
      assert.equal(replaced.status, 200, replaced.text);
    }

    /** A user's tokens from the code flow: `alice` signs in to the client and the code is redeemed. */
    async function userTokens(client: { id: string; basic: readonly [string, string] }, params: Record<string, string>): Promise<Record<string, string>> {
      const signedIn = await f.signIn({ client_id: client.id, ...params });
      const answer = await f.token(
        { grant_type: 'authorization_code', code: signedIn.code, code_verifier: signedIn.verifier, redirect_uri: callback, resource: params.resource },
        { basic: client.basic },
      );
      assert.equal(answer.status, 200, answer.text);
      return answer.json as Record<string, string>;
    }

    /** RFC 7662 introspection, asked by the bootstrap admin client (which may introspect any token). */
    async function introspect(token: string): Promise<Record<string, unknown>> {
      const answer = await send(`${f.url}/token/introspection`, {
        method: 'POST',
        headers: { authorization: basicAuth(adminClientId, adminClientSecret), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      assert.equal(answer.status, 200, answer.text);
      return answer.json!;
    }

    it('regression: dropping an OpenID Connect scope revoked every user of the client — after dropping profile from a web client a user\'s refresh token keeps working', async () => {
      const metadata = { grant_types: code, redirect_uris: [callback], first_party: true };
      const web = await register({ ...metadata, client_id: 'withdraw-profile-web', scope: 'openid profile email offline_access' });
      const tokens = await userTokens(web, { scope: 'openid offline_access profile email' });
      assert.equal((await introspect(tokens.refresh_token!)).active, true, 'a live refresh token before the change');

      await replace(web.id, { ...metadata, scope: 'openid email offline_access' });

      // The user's refresh token and the access token bound to the session are untouched.
      assert.equal((await introspect(tokens.refresh_token!)).active, true, 'the refresh token after the change');
      assert.equal((await introspect(tokens.access_token!)).active, true, 'the access token after the change');
      const refreshed = await f.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { basic: web.basic });
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.equal(typeof refreshed.json?.access_token, 'string');
      assert.deepEqual(String(refreshed.json?.scope).split(' ').sort(), ['email', 'offline_access', 'openid', 'profile'], 'the grant keeps what the user consented to');
      assert.equal(decodeJwt(refreshed.json!.id_token as string).sub, f.userSub);
      // The dropped scope can no longer be asked for in a new authorization.
      const asked = await new BrowserlessUser(callback).open(f.authorizationUrl({ client_id: web.id, scope: 'openid profile' }));
      assert.equal(new URL(asked.location ?? f.url).searchParams.get('error'), 'invalid_scope', `refused at the client: ${asked.location}`);
    });

    it('regression: dropping an API scope revoked every user of the client — it revokes the client\'s own client-credentials tokens (dead at introspection); a user\'s refresh token lives on without the scope', async () => {
      const metadata = { grant_types: [...code, 'client_credentials'], redirect_uris: [callback], first_party: true };
      const hybrid = await register({ ...metadata, client_id: 'withdraw-api-hybrid', scope: 'openid offline_access api.read api.write op.read' });
      const own = async (params: Record<string, string>) => f.token({ grant_type: 'client_credentials', ...params }, { basic: hybrid.basic });
      const ownJwt = await own({ resource: apis.main, scope: 'api.read api.write' });
      assert.equal(ownJwt.status, 200, ownJwt.text);
      const ownOpaque = await own({ resource: opaqueApi, scope: 'op.read' });
      assert.equal(ownOpaque.status, 200, ownOpaque.text);
      const user = await userTokens(hybrid, { scope: 'openid offline_access api.read api.write', resource: apis.main });
      const secondGrant = await userTokens(hybrid, { scope: 'openid offline_access api.read api.write', resource: apis.main });
      assert.equal(decodeJwt(user.access_token!).sub, f.userSub);
      for (const token of [ownJwt.json!.access_token as string, ownOpaque.json!.access_token as string, user.access_token!, user.refresh_token!]) {
        assert.equal((await introspect(token)).active, true, 'every token is live before the change');
      }

      await replace(hybrid.id, { ...metadata, scope: 'openid offline_access api.read op.read' });

      // The tokens the client holds as itself (sub = client_id) are revoked, JWT and opaque, for
      // every API: it asks again and gets its current scope.
      assert.deepEqual(await introspect(ownJwt.json!.access_token as string), { active: false }, 'its own JWT client-credentials token');
      assert.deepEqual(await introspect(ownOpaque.json!.access_token as string), { active: false }, 'its own opaque client-credentials token');
      assertRefused(await own({ resource: apis.main, scope: 'api.write' }), 400, 'invalid_scope');
      const again = await own({ resource: apis.main, scope: 'api.read' });
      assert.equal(again.status, 200, again.text);
      assert.equal((await introspect(again.json!.access_token as string)).active, true, 'a token issued after the change lives');

      // The user-delegated access token keeps its scope until its API's TTL (300 s) ends it.
      const delegated = await introspect(user.access_token!);
      assert.equal(delegated.active, true, 'the user-delegated access token is not revoked');
      assert.equal(delegated.scope, 'api.read api.write');
      assert.equal(Number(delegated.exp) - Number(delegated.iat), 300, 'it lives out the API TTL, no longer');
      // The user's refresh token works, but yields only what the client holds now.
      assert.equal((await introspect(user.refresh_token!)).active, true, 'the refresh token is not revoked');
      const refreshed = await f.token({ grant_type: 'refresh_token', refresh_token: user.refresh_token!, resource: apis.main }, { basic: hybrid.basic });
      assert.equal(refreshed.status, 200, refreshed.text);
      const refreshedClaims = decodeJwt(refreshed.json!.access_token as string);
      assert.equal(refreshedClaims.sub, f.userSub);
      assert.equal(refreshedClaims.scope, 'api.read', 'the withdrawn scope is gone from the refreshed token');
      assert.equal(refreshed.json!.scope, 'api.read');
      // Asked for by name, it is refused. (A refused refresh uses the refresh token up: the
      // library rotates it before the resource check. Hence a second grant for this.)
      assertRefused(
        await f.token({ grant_type: 'refresh_token', refresh_token: secondGrant.refresh_token!, resource: apis.main, scope: 'api.write' }, { basic: hybrid.basic }),
        400,
        'invalid_scope',
      );

      // Once the client holds none of the API's scopes, the refresh token no longer reaches it.
      await replace(hybrid.id, { ...metadata, scope: 'openid offline_access op.read' });
      assertRefused(
        await f.token({ grant_type: 'refresh_token', refresh_token: refreshed.json!.refresh_token as string, resource: apis.main }, { basic: hybrid.basic }),
        400,
        'invalid_target',
      );
    });

    it('DELETE still revokes every token issued to the client: a user\'s access token for an API is dead at introspection', async () => {
      const metadata = { grant_types: code, redirect_uris: [callback], first_party: true, scope: 'openid offline_access api.read' };
      const web = await register({ ...metadata, client_id: 'withdraw-deleted-web' });
      const user = await userTokens(web, { scope: 'openid offline_access api.read', resource: apis.main });
      assert.equal((await introspect(user.access_token!)).active, true);
      const removed = await call('DELETE', `/clients/${web.id}`);
      assert.equal(removed.status, 204, removed.text);
      assert.deepEqual(await introspect(user.access_token!), { active: false });
    });
  });

  describe('registration input (RFC 7591 §2, RFC 9700 §4.1)', () => {
    const hostileRedirects: [string, string][] = [
      ['a mixed-case JavaScript: scheme', 'JavaScript:alert(document.cookie)'],
      ['a javascript: scheme behind a leading space', ' javascript:alert(1)'],
      ['a javascript: scheme split by a tab', 'java\tscript:alert(1)'],
      ['a vbscript: scheme', 'vbscript:msgbox(1)'],
      ['an upper-case DATA: scheme', 'DATA:text/html,<script>alert(1)</script>'],
      ['a file: URL', 'file:///etc/passwd'],
      ['a blob: URL', 'blob:https://app.example.test/0e6f1c2a'],
      ['the out-of-band URN urn:ietf:wg:oauth:2.0:oob', 'urn:ietf:wg:oauth:2.0:oob'],
    ];
    for (const [label, uri] of hostileRedirects) {
      it(`RFC 9700 §2.1 / RFC 6749 §3.1.2 — a redirect URI with ${label} is refused with invalid_redirect_uri`, async () => {
        const answer = await call('POST', '/clients', { json: { grant_types: ['authorization_code'], redirect_uris: [uri], scope: 'openid' } });
        assertRefused(answer, 400, 'invalid_redirect_uri');
      });
    }

    it('RFC 8252 §7.3 / §8.3 — a native app redirect over http to a non-loopback host is refused', async () => {
      const answer = await call('POST', '/clients', {
        json: { application_type: 'native', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['http://attacker.example.test/callback'], scope: 'openid' },
      });
      assertRefused(answer, 400, 'invalid_redirect_uri');
    });

    it('RP-Initiated Logout §3.1 / stored XSS (CWE-79) — javascript:/data: post-logout URIs and client_uri/logo_uri/policy_uri/tos_uri are refused', async () => {
      const base = { grant_types: ['authorization_code'], redirect_uris: [callback], scope: 'openid' };
      // RFC 7591 §3.2.2: invalid_redirect_uri or invalid_client_metadata are both the right code here.
      for (const extra of [
        { post_logout_redirect_uris: ['javascript:alert(1)'] },
        { post_logout_redirect_uris: ['data:text/html,<script>alert(1)</script>'] },
        { post_logout_redirect_uris: ['https://app.example.test/out#fragment'] },
        { client_uri: 'javascript:alert(1)' },
        { logo_uri: 'javascript:alert(1)' },
        { policy_uri: 'data:text/html,x' },
        { tos_uri: 'javascript:alert(1)' },
      ]) {
        assertRefused(await call('POST', '/clients', { json: { ...base, ...extra } }), 400, ['invalid_client_metadata', 'invalid_redirect_uri']);
      }
    });

    it('RFC 7591 §2 (jwks) — a key set holding a private key or a symmetric key is refused', async () => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const base = { grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', scope: 'api.read' };
      for (const key of [await exportJWK(privateKey), { kty: 'oct', k: Buffer.from('a shared secret of 32 bytes!!!!!').toString('base64url'), alg: 'HS256' }]) {
        assertRefused(await call('POST', '/clients', { json: { ...base, jwks: { keys: [key] } } }), 400, 'invalid_client_metadata');
      }
    });

    it('RFC 7591 §2 — jwks and jwks_uri together, a file: jwks_uri, and token_endpoint_auth_signing_alg none or HS256 are refused', async () => {
      const key = await createSigningKey('ES256');
      const base = { grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', scope: 'api.read' };
      for (const extra of [
        { jwks: { keys: [key.publicJwk] }, jwks_uri: 'https://keys.example.test/jwks.json' },
        { jwks_uri: 'file:///etc/passwd' },
        { jwks: { keys: [key.publicJwk] }, token_endpoint_auth_signing_alg: 'none' },
        { jwks: { keys: [key.publicJwk] }, token_endpoint_auth_signing_alg: 'HS256' },
      ]) {
        assertRefused(await call('POST', '/clients', { json: { ...base, ...extra } }), 400, 'invalid_client_metadata');
      }
    });

    it('mass assignment (CWE-915) — a chosen client_secret, a user sub, a password hash or an admin flag are refused', async () => {
      for (const [route, body] of [
        ['/clients', { grant_types: ['client_credentials'], scope: 'api.read', client_secret: 'attacker-chosen-secret-0123456789' }],
        ['/clients', { grant_types: ['client_credentials'], scope: 'api.read', client_secret_expires_at: 1 }],
        ['/users', { username: 'mass-assign', password: 'password-123', sub: 'chosen-sub' }],
        ['/users', { username: 'mass-assign', password: 'password-123', password_hash: '$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA' }],
        ['/users', { username: 'mass-assign', password: 'password-123', is_admin: true }],
      ] as const) {
        const answer = await call('POST', route, { json: body });
        assert.equal(answer.status, 400, `${route} ${JSON.stringify(body)}: ${answer.text}`);
      }
      const put = await call('PUT', '/clients/svc', { json: { grant_types: ['client_credentials'], scope: 'api.read', client_secret: 'attacker-chosen-secret-0123456789' } });
      assert.equal(put.status, 400, put.text);
      assert.equal((await f.token({ grant_type: 'client_credentials', scope: 'api.read' }, { basic: ['svc', 'attacker-chosen-secret-0123456789'] })).status, 401);
    });

    it('prototype pollution (CWE-1321) — __proto__ and constructor members are refused and pollute nothing', async () => {
      for (const raw of [
        '{"__proto__": {"scope": "admin", "first_party": true}, "grant_types": ["client_credentials"], "scope": "api.read"}',
        '{"constructor": {"prototype": {"scope": "admin"}}, "grant_types": ["client_credentials"], "scope": "api.read"}',
        '{"username": "proto", "password": "password-123", "__proto__": {"disabled": false, "sub": "x"}}',
      ]) {
        const route = raw.includes('username') ? '/users' : '/clients';
        assert.equal((await call('POST', route, { raw })).status, 400, raw);
      }
      const created = await call('POST', '/clients', { json: { grant_types: ['client_credentials'], scope: 'api.read' } });
      assert.equal(created.status, 201);
      assert.equal(created.json?.first_party, undefined, 'no polluted default');
      assert.notEqual(created.json?.scope, 'admin');
    });

    it('CWE-400 (hostile JSON) — 100 000 nested arrays are 413, 5 000 nested objects are 400', async () => {
      const arrays = await call('POST', '/clients', { raw: `${'['.repeat(100_000)}${']'.repeat(100_000)}` });
      assertRefused(arrays, 413, 'invalid_request');
      const objects = await call('POST', '/clients', { raw: `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}` });
      assertRefused(objects, 400);
    });
  });

  describe('paths, methods and queries', () => {
    it('CWE-285 (mass deletion) — DELETE on a collection or a method override header deletes nothing', async () => {
      for (const route of ['/clients', '/users', '/resources']) {
        const answer = await call('DELETE', route);
        assert.ok(answer.status >= 400 && answer.status < 500, `DELETE ${route}: ${answer.status}`);
      }
      const overridden = await call('POST', '/clients/svc', { headers: { 'x-http-method-override': 'DELETE' }, json: {} });
      assert.ok(overridden.status >= 400 && overridden.status < 500, `method override: ${overridden.status}`);
      assert.equal((await call('GET', '/clients/svc')).status, 200, 'svc still exists');
      assert.equal((await call('GET', '/users')).json?.items instanceof Array, true);
      assert.ok(((await call('GET', '/users')).json!.items as unknown[]).length >= 1, 'users still exist');
    });

    it('path traversal (CWE-22) — encoded ../ in client, user and API identifiers never reaches another resource', async () => {
      for (const route of ['/clients/..%2Fusers', '/clients/%2E%2E%2F%2E%2E%2Fkeys', '/users/..%2F..%2Fclients', `/resources/${encodeURIComponent('https://api.security.test/../../admin')}`]) {
        const answer = await call('GET', route);
        assert.equal(answer.status, 404, `${route}: ${answer.status} ${answer.text.slice(0, 100)}`);
        assert.equal(answer.json?.items, undefined);
      }
    });

    it('path traversal (CWE-22) — raw dot segments after /admin are never resolved past its token check', async () => {
      // fetch resolves `..` before sending; a raw client does not, so speak HTTP directly.
      const { port } = new URL(f.url);
      for (const path of ['/admin/../clients', '/admin/%2e%2e/clients', '/admin/./users', '/admin/%2E%2E/revocations', '/ADMIN/clients']) {
        const status = await new Promise<number>((resolve, reject) => {
          const request = http.request({ host: '127.0.0.1', port, method: 'GET', path }, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          });
          request.on('error', reject);
          request.end();
        });
        assert.ok(status === 401 || status === 404, `${path}: ${status} without a token`);
      }
    });

    it('SQL injection (CWE-89) — SQL in the audit-trail filters matches nothing instead of everything', async () => {
      const all = await call('GET', '/events?limit=200');
      assert.equal(all.status, 200, all.text);
      for (const query of ["sub=' OR '1'='1", "client_id=x' OR 1=1 --", 'type=token_exchange%27%20OR%20%271%27%3D%271']) {
        const answer = await call('GET', `/events?${query}`);
        assert.ok(answer.status === 200 || answer.status === 400, `${query}: ${answer.status}`);
        if (answer.status === 200) assert.deepEqual(answer.json?.items, [], query);
      }
    });

    it('CWE-158 (NUL byte) — a NUL byte in a user or API identifier in the path is 404, not a server error', async () => {
      for (const [method, route] of [['GET', '/users/%00'], ['PUT', '/users/%00'], ['DELETE', '/users/%00'], ['GET', '/resources/%00'], ['DELETE', '/resources/%00'], ['GET', '/clients/%00']]) {
        const answer = await call(method!, route!, method === 'PUT' ? { json: { name: 'x' } } : {});
        assert.ok(answer.status < 500, `${method} ${route}: server error ${answer.status}`);
        assert.equal(answer.status, 404, `${method} ${route}`);
      }
    });

    it('CWE-158 (NUL byte) — a NUL byte in a list cursor (?after=) is 400, not a server error', async () => {
      for (const route of ['/clients?after=%00', '/users?after=%00', '/resources?after=%00']) {
        const answer = await call('GET', route);
        assert.ok(answer.status < 500, `${route}: server error ${answer.status}`);
        assert.equal(answer.status, 400, route);
      }
    });

    it('CWE-158 (NUL byte) / RFC 7591 §3.2.2 — NUL bytes in registration fields are 400 invalid_client_metadata / invalid_request, not a server error', async () => {
      const key = await createSigningKey('ES256');
      const bodies: [string, unknown][] = [
        ['/clients', { grant_types: ['client_credentials'], scope: 'api.read', client_name: 'evil\u0000name' }],
        ['/clients', { grant_types: ['authorization_code'], scope: 'openid', redirect_uris: [`${callback}\u0000`] }],
        ['/clients', { grant_types: ['client_credentials'], scope: 'api.read', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...key.publicJwk, kid: 'kid\u0000' }] } }],
        ['/users', { username: 'nul-name', password: 'password-123', name: 'evil\u0000name' }],
        ['/resources', { identifier: 'https://nul.security.test', scopes: ['nul.read'], name: 'evil\u0000name' }],
      ];
      for (const [route, body] of bodies) {
        const answer = await call('POST', route, { json: body });
        assert.ok(answer.status < 500, `${route} ${JSON.stringify(body)}: server error ${answer.status}`);
        assert.equal(answer.status, 400, `${route} ${JSON.stringify(body)}: ${answer.text}`);
      }
    });

    it('CWE-158 (NUL byte) — NUL bytes in revocation targets are refused or match nothing, never a server error', async () => {
      for (const body of [{ jti: '\u0000' }, { sub: '\u0000' }, { client_id: '\u0000' }, { grant_id: '\u0000' }]) {
        const answer = await call('POST', '/revocations', { json: body });
        assert.ok(answer.status < 500, `${JSON.stringify(body)}: server error ${answer.status}`);
      }
      assert.equal((await call('GET', '/keys')).status, 200, 'the admin token still works');
    });

    it('CWE-176 (Unicode encoding) / RFC 7591 §3.2.2 — a lone UTF-16 surrogate in client metadata is 400, not a server error', async () => {
      const answer = await call('POST', '/clients', { raw: '{"grant_types":["client_credentials"],"scope":"api.read","client_name":"\\ud800"}' });
      assert.ok(answer.status < 500, `server error ${answer.status}`);
      assert.equal(answer.status, 400);
    });
  });
});
