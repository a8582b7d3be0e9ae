// The admin API over real HTTP against real stores: authentication (RFC 6750), input validation,
// conflicts and not-found answers, and the life cycle of clients, users and APIs. Every response
// is recorded; at the end no answer may be a 5xx and every admin answer must be `no-store`.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { verifyPassword } from '../../src/credentials/passwords.js';
import { openDatabase } from '../../src/stores/database.js';
import { findUserByUsername } from '../../src/stores/users.js';
import {
  adminClientId,
  createTestEnvironment,
  storesLabel,
  type TestEnvironment,
  type TestServer,
} from '../helpers/server.js';
import {
  clientCredentialsToken,
  createAdminApi,
  getAdminToken,
  requestToken,
  ResponseLog,
  type AdminApi,
  type JsonResponse,
} from '../helpers/http-support.js';

const ordersApi = 'https://api.test/orders';
const sqlInjection = "'; DROP TABLE users; --";

type SigningKeyLike = Awaited<ReturnType<typeof importJWK>>;

function assertError(answer: JsonResponse, status: number, code?: string): void {
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status}: ${answer.text}`);
  assert.equal(typeof answer.json?.error, 'string', `an error body: ${answer.text}`);
  assert.equal(typeof answer.json?.error_description, 'string', `an error_description: ${answer.text}`);
  if (code) assert.equal(answer.json?.error, code);
}

/** RFC 6750 §3 / RFC 9110 §11.6.1: `Bearer` followed by auth-params whose quoted values hold no bare `"`. */
function assertBearerChallenge(answer: JsonResponse, error?: string): void {
  const header = answer.headers.get('www-authenticate');
  assert.ok(header, 'a WWW-Authenticate header');
  assert.match(header, /^Bearer(\s|$)/);
  const params = header.replace(/^Bearer\s*/, '');
  const authParam = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+=("(?:[^"\\]|\\.)*"|[A-Za-z0-9!#$%&'*+.^_`|~-]+)$/;
  if (params) {
    // Split on commas outside quoted strings.
    const parts = params.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? [];
    assert.equal(parts.join(',').length, params.length, `well-formed auth-params: ${header}`);
    for (const part of parts) assert.match(part.trim(), authParam, `well-formed auth-param in: ${header}`);
  }
  if (error) assert.match(header, new RegExp(`error="${error}"`));
}

describe(`admin API (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: AdminApi;
  let adminToken: string;
  const log = new ResponseLog();

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    adminToken = await getAdminToken(server.url, log);
    admin = createAdminApi(server.url, () => adminToken, log);
    const orders = await admin.call('POST', '/resources', {
      json: { identifier: ordersApi, scopes: ['orders.read', 'orders.write'], access_token_ttl: 600 },
    });
    assert.equal(orders.status, 201, orders.text);
  });

  after(async () => {
    await env?.cleanup();
  });

  async function createClient(metadata: Record<string, unknown>): Promise<{ clientId: string; clientSecret: string; body: JsonResponse }> {
    const created = await admin.call('POST', '/clients', { json: metadata });
    assert.equal(created.status, 201, created.text);
    return {
      clientId: created.json?.client_id as string,
      clientSecret: created.json?.client_secret as string,
      body: created,
    };
  }

  /** The server's own signing keys, as a resource server could never see them: to forge precise tokens. */
  async function serverSigningKey(alg: 'ES256' | 'RS256'): Promise<{ key: SigningKeyLike; kid: string }> {
    const text = await fs.readFile(path.join(server.config.keysDir, 'signing-keys.json'), 'utf8');
    const jwk = (JSON.parse(text) as { keys: (JWK & { kid: string })[] }).keys.find((key) => key.alg === alg);
    assert.ok(jwk);
    return { key: await importJWK(jwk, alg), kid: jwk.kid };
  }

  async function publishedJwks(): Promise<{ keys: JWK[] }> {
    const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    return (await (await fetch(discovery.jwks_uri)).json()) as { keys: JWK[] };
  }

  function adminClaims(overrides: Record<string, unknown> = {}) {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: server.issuer,
      aud: `${server.issuer}/admin`,
      sub: adminClientId,
      client_id: adminClientId,
      scope: 'admin',
      jti: randomUUID(),
      iat: now,
      exp: now + 300,
      ...overrides,
    };
  }

  describe('authentication', () => {
    it('answers a request without a token with 401 and a Bearer challenge', async () => {
      const answer = await admin.call('GET', '/clients', { token: null });
      assertError(answer, 401);
      assertBearerChallenge(answer);
    });

    it('answers a garbage token with 401 invalid_token', async () => {
      for (const token of ['garbage', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.']) {
        const answer = await admin.call('GET', '/clients', { token });
        assertError(answer, 401, 'invalid_token');
        assertBearerChallenge(answer, 'invalid_token');
      }
    });

    it('answers a non-Bearer Authorization header with 401 and a well-formed challenge', async () => {
      const answer = await admin.call('GET', '/clients', { token: null, headers: { authorization: 'Basic dGVzdDp0ZXN0' } });
      assertError(answer, 401);
      assertBearerChallenge(answer);
    });

    it('answers a token signed by another key with 401 invalid_token', async () => {
      const jwks = await publishedJwks();
      const realKid = jwks.keys.find((key) => key.alg === 'ES256')?.kid;
      const { privateKey } = await generateKeyPair('ES256');
      for (const kid of [realKid, 'some-other-kid']) {
        const forged = await new SignJWT(adminClaims())
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...(kid ? { kid } : {}) })
          .sign(privateKey);
        const answer = await admin.call('GET', '/clients', { token: forged });
        assertError(answer, 401, 'invalid_token');
        assertBearerChallenge(answer, 'invalid_token');
      }
    });

    it('answers an HMAC token keyed with a public key (alg confusion) with 401', async () => {
      const jwks = await publishedJwks();
      const es = jwks.keys.find((key) => key.alg === 'ES256')!;
      const secret = new TextEncoder().encode(JSON.stringify(es));
      const forged = await new SignJWT(adminClaims())
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: es.kid! })
        .sign(secret);
      assertError(await admin.call('GET', '/clients', { token: forged }), 401, 'invalid_token');
    });

    it('answers tokens signed by the server key but expired, mistyped, or of another issuer with 401', async () => {
      const es = await serverSigningKey('ES256');
      const rs = await serverSigningKey('RS256');
      const now = Math.floor(Date.now() / 1000);
      const cases: [string, Record<string, unknown>, { alg: string; typ?: string; key: SigningKeyLike; kid: string }][] = [
        ['expired', adminClaims({ iat: now - 3600, exp: now - 600 }), { alg: 'ES256', typ: 'at+jwt', ...es }],
        ['typ JWT', adminClaims(), { alg: 'ES256', typ: 'JWT', ...es }],
        ['no typ', adminClaims(), { alg: 'ES256', ...es }],
        ['other issuer', adminClaims({ iss: 'https://evil.test' }), { alg: 'ES256', typ: 'at+jwt', ...es }],
        ['RS256 (the ID token key)', adminClaims(), { alg: 'RS256', typ: 'at+jwt', ...rs }],
      ];
      for (const [label, claims, signer] of cases) {
        const token = await new SignJWT(claims)
          .setProtectedHeader({ alg: signer.alg, kid: signer.kid, ...(signer.typ ? { typ: signer.typ } : {}) })
          .sign(signer.key);
        const answer = await admin.call('GET', '/clients', { token });
        assertError(answer, 401, 'invalid_token');
        assertBearerChallenge(answer, 'invalid_token');
        assert.ok(answer.status === 401, label);
      }
      // The control: the same construction with valid claims is accepted, so the cases above fail for their reason.
      const valid = await new SignJWT(adminClaims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: es.kid }).sign(es.key);
      assert.equal((await admin.call('GET', '/clients', { token: valid })).status, 200);
    });

    it('answers a token whose client does not exist with 401', async () => {
      const es = await serverSigningKey('ES256');
      const token = await new SignJWT(adminClaims({ client_id: 'ghost-client', sub: 'ghost-client' }))
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: es.kid })
        .sign(es.key);
      const answer = await admin.call('GET', '/clients', { token });
      assertError(answer, 401, 'invalid_token');
      assertBearerChallenge(answer, 'invalid_token');
    });

    it('answers a valid token of this server for another API with 403 insufficient_scope', async () => {
      const client = await createClient({ grant_types: ['client_credentials'], scope: 'orders.read' });
      const apiToken = await clientCredentialsToken(server.url, {
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        params: { resource: ordersApi, scope: 'orders.read' },
        log,
      });
      for (const [method, route] of [
        ['GET', '/clients'],
        ['GET', '/users'],
        ['GET', '/resources'],
        ['POST', '/clients'],
      ] as const) {
        const answer = await admin.call(method, route, {
          token: apiToken,
          ...(method === 'POST' ? { json: { grant_types: ['client_credentials'], scope: 'admin' } } : {}),
        });
        assertError(answer, 403, 'insufficient_scope');
        assertBearerChallenge(answer, 'insufficient_scope');
      }
    });

    it('answers a token with the admin audience but without the admin scope with 403', async () => {
      const es = await serverSigningKey('ES256');
      const token = await new SignJWT(adminClaims({ scope: 'orders.read' }))
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: es.kid })
        .sign(es.key);
      assertError(await admin.call('GET', '/clients', { token }), 403, 'insufficient_scope');
    });

    // The token's own scope is what the client held when it was issued. A token that escaped
    // revocation (e.g. the metadata changed while the revocation state was unreachable) must
    // still not outrank the client's current metadata: a genuine token, a privilege gone, 403.
    it('regression: a demoted admin client kept the admin API — a genuine admin token of a client whose current scope lacks admin is 403', async () => {
      const client = await createClient({ grant_types: ['client_credentials'], scope: 'orders.read' });
      const es = await serverSigningKey('ES256');
      const token = await new SignJWT(adminClaims({ client_id: client.clientId, sub: client.clientId }))
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: es.kid })
        .sign(es.key);
      for (const [method, route, json] of [
        ['GET', '/clients', undefined],
        ['POST', '/clients', { grant_types: ['client_credentials'], scope: 'admin' }],
      ] as const) {
        const answer = await admin.call(method, route, { token, ...(json ? { json } : {}) });
        assertError(answer, 403, 'insufficient_scope');
        assert.match(String(answer.json?.error_description), /no longer holds the admin scope/);
        assertBearerChallenge(answer, 'insufficient_scope');
      }
    });
  });

  describe('clients', () => {
    it('registers a client: 201, Location, full metadata, and the secret once', async () => {
      const { clientId, clientSecret, body } = await createClient({
        client_name: 'Orders worker',
        grant_types: ['client_credentials'],
        scope: 'orders.read',
      });
      assert.equal(body.headers.get('location'), `/admin/clients/${encodeURIComponent(clientId)}`);
      assert.match(clientSecret, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(body.json?.client_name, 'Orders worker');
      assert.equal(body.json?.token_endpoint_auth_method, 'client_secret_basic');
      assert.deepEqual(body.json?.grant_types, ['client_credentials']);
      assert.equal(typeof body.json?.client_id_issued_at, 'number');

      const read = await admin.call('GET', `/clients/${encodeURIComponent(clientId)}`);
      assert.equal(read.status, 200);
      assert.equal(read.json?.client_id, clientId);
      assert.equal(read.json?.client_name, 'Orders worker');
      assert.ok(!('client_secret' in read.json), 'GET never returns client_secret');
      assert.ok(!read.text.includes(clientSecret));

      const list = await admin.call('GET', '/clients?limit=200');
      assert.equal(list.status, 200);
      const items = list.json?.items as Record<string, unknown>[];
      const listed = items.find((item) => item.client_id === clientId);
      assert.ok(listed, 'the client is listed');
      assert.ok(items.every((item) => !('client_secret' in item)), 'lists never return secrets');
      assert.ok(!list.text.includes(clientSecret));
    });

    it('keeps a requested client_id and refuses a duplicate with 409', async () => {
      const first = await admin.call('POST', '/clients', {
        json: { client_id: 'duplicate-me', grant_types: ['client_credentials'], scope: 'orders.read' },
      });
      assert.equal(first.status, 201, first.text);
      assert.equal(first.json?.client_id, 'duplicate-me');
      const second = await admin.call('POST', '/clients', {
        json: { client_id: 'duplicate-me', grant_types: ['client_credentials'], scope: 'orders.read' },
      });
      assertError(second, 409);
      assert.equal(second.json?.client_secret, undefined);
      // The first client's secret still works: the conflict changed nothing.
      await clientCredentialsToken(server.url, {
        clientId: 'duplicate-me',
        clientSecret: first.json?.client_secret as string,
        params: { resource: ordersApi },
        log,
      });
    });

    it('refuses a duplicate of the bootstrap admin client_id with 409', async () => {
      const answer = await admin.call('POST', '/clients', {
        json: { client_id: adminClientId, grant_types: ['client_credentials'], scope: 'admin' },
      });
      assertError(answer, 409);
    });

    it('paginates the list with limit and next_cursor', async () => {
      for (const suffix of ['a', 'b', 'c']) {
        await createClient({ client_id: `page-${suffix}`, grant_types: ['client_credentials'], scope: 'orders.read' });
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `?limit=2&after=${encodeURIComponent(cursor)}` : '?limit=2';
        const page = await admin.call('GET', `/clients${query}`);
        assert.equal(page.status, 200, page.text);
        const items = page.json?.items as { client_id: string }[];
        assert.ok(items.length <= 2);
        seen.push(...items.map((item) => item.client_id));
        cursor = page.json?.next_cursor as string | null;
      } while (cursor);
      assert.equal(new Set(seen).size, seen.length, 'no client twice');
      for (const id of ['page-a', 'page-b', 'page-c', adminClientId]) assert.ok(seen.includes(id), `${id} is listed`);
      assertError(await admin.call('GET', '/clients?limit=0'), 400, 'invalid_request');
      assertError(await admin.call('GET', '/clients?limit=abc'), 400, 'invalid_request');
      assertError(await admin.call('GET', '/clients?limit=201'), 400, 'invalid_request');
    });

    for (const [label, metadata] of [
      ['an unknown field', { grant_types: ['client_credentials'], scope: 'orders.read', favourite_colour: 'blue' }],
      ['client_name of the wrong type', { client_name: 42, grant_types: ['client_credentials'] }],
      ['redirect_uris of the wrong type', { redirect_uris: 'https://app.test/cb' }],
      ['grant_types of the wrong type', { grant_types: 'client_credentials' }],
      ['grant_types ["implicit"]', { grant_types: ['implicit'], redirect_uris: ['https://app.test/cb'] }],
      ['grant_types ["password"]', { grant_types: ['password'] }],
      ['response_types ["token"]', { response_types: ['token'], redirect_uris: ['https://app.test/cb'] }],
      ['a scope no API defines', { grant_types: ['client_credentials'], scope: 'orders.read nope.write' }],
      ['an unknown auth method', { grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_jwt' }],
      ['client_credentials for a public client', { grant_types: ['client_credentials'], token_endpoint_auth_method: 'none' }],
      ['a client_id with bad characters', { client_id: 'bad id/with slash', grant_types: ['client_credentials'] }],
      ['a JSON array body', []],
      ['a JSON null body', null],
      ['a JSON string body', 'client'],
    ] as const) {
      it(`refuses ${label} with 400 invalid_client_metadata`, async () => {
        const answer = await admin.call('POST', '/clients', { json: metadata });
        assertError(answer, 400, 'invalid_client_metadata');
      });
    }

    for (const [label, uri] of [
      ['a fragment', 'https://app.test/cb#fragment'],
      ['javascript:', 'javascript:alert(1)'],
      ['data:', 'data:text/html,<script>alert(1)</script>'],
      ['not a URI', 'not a uri'],
    ] as const) {
      it(`refuses a redirect URI with ${label} with 400 invalid_redirect_uri`, async () => {
        const answer = await admin.call('POST', '/clients', {
          json: { redirect_uris: [uri], grant_types: ['authorization_code'] },
        });
        assertError(answer, 400, 'invalid_redirect_uri');
      });
    }

    it('reads 404 for unknown client ids, SQL metacharacters included', async () => {
      for (const id of ['no-such-client', sqlInjection, "x' OR '1'='1", '%00', 'a'.repeat(300)]) {
        const route = `/clients/${encodeURIComponent(id)}`;
        assertError(await admin.call('GET', route), 404);
        assertError(await admin.call('DELETE', route), 404);
        assertError(await admin.call('POST', `${route}/secret`), 404);
        assertError(
          await admin.call('PUT', route, { json: { grant_types: ['client_credentials'], scope: 'orders.read' } }),
          404,
        );
      }
    });

    it('replaces metadata with PUT, keeping the secret', async () => {
      const { clientId, clientSecret } = await createClient({
        client_name: 'before',
        contacts: ['ops@example.test'],
        grant_types: ['client_credentials'],
        scope: 'orders.read',
      });
      const route = `/clients/${encodeURIComponent(clientId)}`;
      const replaced = await admin.call('PUT', route, {
        json: { grant_types: ['client_credentials'], scope: 'orders.read orders.write' },
      });
      assert.equal(replaced.status, 200, replaced.text);
      assert.equal(replaced.json?.client_id, clientId);
      assert.equal(replaced.json?.scope, 'orders.read orders.write');
      assert.equal(replaced.json?.client_secret, undefined, 'a kept secret is not shown again');

      const read = await admin.call('GET', route);
      assert.equal(read.json?.scope, 'orders.read orders.write');
      assert.ok(!('client_name' in read.json), 'PUT replaces: fields left out are gone');
      assert.ok(!('contacts' in read.json));

      // The new scope is usable at once and the old secret still authenticates.
      const token = await requestToken(server.url, {
        clientId,
        clientSecret,
        params: { grant_type: 'client_credentials', resource: ordersApi, scope: 'orders.write' },
        log,
      });
      assert.equal(token.status, 200, token.text);

      assertError(
        await admin.call('PUT', route, { json: { client_id: 'another-id', grant_types: ['client_credentials'] } }),
        400,
        'invalid_client_metadata',
      );
      assertError(await admin.call('PUT', route, { json: { grant_types: ['implicit'] } }), 400, 'invalid_client_metadata');
      assertError(
        await admin.call('PUT', route, { json: { redirect_uris: ['https://app.test/#x'] } }),
        400,
        'invalid_redirect_uri',
      );
      // A refused PUT changed nothing.
      assert.equal((await admin.call('GET', route)).json?.scope, 'orders.read orders.write');
    });

    it('rotates the secret: the new one works at /token, the old one no longer does', async () => {
      const { clientId, clientSecret: oldSecret } = await createClient({
        grant_types: ['client_credentials'],
        scope: 'orders.read',
      });
      const rotated = await admin.call('POST', `/clients/${encodeURIComponent(clientId)}/secret`);
      assert.equal(rotated.status, 200, rotated.text);
      assert.equal(rotated.json?.client_id, clientId);
      const newSecret = rotated.json?.client_secret as string;
      assert.match(newSecret, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(newSecret, oldSecret);

      const params = { grant_type: 'client_credentials', resource: ordersApi, scope: 'orders.read' };
      const withNew = await requestToken(server.url, { clientId, clientSecret: newSecret, params, log });
      assert.equal(withNew.status, 200, withNew.text);
      const withOld = await requestToken(server.url, { clientId, clientSecret: oldSecret, params, log });
      assertError(withOld, 401, 'invalid_client');
      assert.ok(!(await admin.call('GET', `/clients/${encodeURIComponent(clientId)}`)).text.includes(newSecret));
    });

    it('refuses to rotate a secret for a client that does not use one', async () => {
      const created = await admin.call('POST', '/clients', {
        json: {
          redirect_uris: ['https://app.test/callback'],
          token_endpoint_auth_method: 'none',
          scope: 'openid',
        },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json?.client_secret, undefined, 'a public client gets no secret');
      const rotated = await admin.call('POST', `/clients/${encodeURIComponent(created.json?.client_id as string)}/secret`);
      assertError(rotated, 400);
    });

    it('deletes a client: 204, then 404, and it can no longer obtain tokens', async () => {
      const { clientId, clientSecret } = await createClient({ grant_types: ['client_credentials'], scope: 'orders.read' });
      const params = { grant_type: 'client_credentials', resource: ordersApi, scope: 'orders.read' };
      assert.equal((await requestToken(server.url, { clientId, clientSecret, params, log })).status, 200);

      const deleted = await admin.call('DELETE', `/clients/${encodeURIComponent(clientId)}`);
      assert.equal(deleted.status, 204);
      assert.equal(deleted.text, '');
      assertError(await admin.call('GET', `/clients/${encodeURIComponent(clientId)}`), 404);
      assertError(await admin.call('DELETE', `/clients/${encodeURIComponent(clientId)}`), 404);
      assertError(await requestToken(server.url, { clientId, clientSecret, params, log }), 401, 'invalid_client');
    });

    it('refuses the admin token of a deleted admin client with 401', async () => {
      const { clientId, clientSecret } = await createClient({ grant_types: ['client_credentials'], scope: 'admin' });
      const token = await clientCredentialsToken(server.url, { clientId, clientSecret, params: { scope: 'admin' }, log });
      assert.equal((await admin.call('GET', '/clients', { token })).status, 200, 'the new admin client works');

      assert.equal((await admin.call('DELETE', `/clients/${encodeURIComponent(clientId)}`)).status, 204);
      const answer = await admin.call('GET', '/clients', { token });
      assertError(answer, 401, 'invalid_token');
      assertBearerChallenge(answer, 'invalid_token');
    });
  });

  describe('users', () => {
    it('creates a user: 201 with sub and username, never the password or its hash', async () => {
      const password = 'correct horse battery staple';
      const answer = await admin.call('POST', '/users', {
        json: { username: 'alice', password, email: 'alice@example.test', name: 'Alice Liddell' },
      });
      assert.equal(answer.status, 201, answer.text);
      assert.equal(typeof answer.json?.sub, 'string');
      assert.ok((answer.json?.sub as string).length > 0);
      assert.equal(answer.json?.username, 'alice');
      assert.equal(answer.json?.email, 'alice@example.test');
      assert.equal(answer.json?.name, 'Alice Liddell');
      assert.equal(answer.json?.disabled, false);
      assert.equal(answer.headers.get('location'), `/admin/users/${encodeURIComponent(answer.json?.sub as string)}`);
      assertNoSecrets(answer, password);

      const read = await admin.call('GET', `/users/${encodeURIComponent(answer.json?.sub as string)}`);
      assert.equal(read.status, 200);
      assert.equal(read.json?.username, 'alice');
      assertNoSecrets(read, password);

      const list = await admin.call('GET', '/users');
      assert.equal(list.status, 200);
      assert.ok((list.json?.items as { sub: string }[]).some((item) => item.sub === answer.json?.sub));
      assertNoSecrets(list, password);
    });

    function assertNoSecrets(answer: JsonResponse, password: string): void {
      assert.ok(!answer.text.includes('argon2'), `no hash in ${answer.text}`);
      assert.ok(!answer.text.includes(password), 'no password');
      assert.ok(!/"password/i.test(answer.text), 'no password field');
      assert.ok(!/hash/i.test(answer.text), 'no hash field');
    }

    it('refuses a duplicate username with 409, whatever its case', async () => {
      const first = await admin.call('POST', '/users', { json: { username: 'bob', password: 'password-for-bob' } });
      assert.equal(first.status, 201, first.text);
      for (const username of ['bob', 'Bob', 'BOB']) {
        assertError(await admin.call('POST', '/users', { json: { username, password: 'another-password' } }), 409);
      }
      // Renaming another user onto a taken name is a conflict too.
      const carol = await admin.call('POST', '/users', { json: { username: 'carol', password: 'password-for-carol' } });
      assert.equal(carol.status, 201);
      const rename = await admin.call('PUT', `/users/${encodeURIComponent(carol.json?.sub as string)}`, {
        json: { username: 'BOB' },
      });
      assertError(rename, 409);
      assert.equal((await admin.call('GET', `/users/${encodeURIComponent(carol.json?.sub as string)}`)).json?.username, 'carol');
    });

    it('accepts passwords of 8 and 256 characters and refuses 7 and 257 with 400 invalid_request', async () => {
      assertError(await admin.call('POST', '/users', { json: { username: 'short-pw', password: 'a'.repeat(7) } }), 400, 'invalid_request');
      assertError(await admin.call('POST', '/users', { json: { username: 'long-pw', password: 'a'.repeat(257) } }), 400, 'invalid_request');
      assert.equal((await admin.call('POST', '/users', { json: { username: 'min-pw', password: 'a'.repeat(8) } })).status, 201);
      assert.equal((await admin.call('POST', '/users', { json: { username: 'max-pw', password: 'a'.repeat(256) } })).status, 201);
      for (const name of ['short-pw', 'long-pw']) {
        const list = await admin.call('GET', '/users?limit=200');
        assert.ok(!(list.json?.items as { username: string }[]).some((user) => user.username === name), `${name} was not created`);
      }
    });

    for (const [label, body] of [
      ['no password', { username: 'nopass' }],
      ['no username', { password: 'password-123' }],
      ['a non-string password', { username: 'numpass', password: 12345678 }],
      ['an unknown field', { username: 'extra', password: 'password-123', role: 'admin' }],
      ['a username with surrounding spaces', { username: ' spaced ', password: 'password-123' }],
      ['a username with a control character', { username: 'new\nline', password: 'password-123' }],
      ['an invalid email', { username: 'bad-email', password: 'password-123', email: 'not-an-email' }],
      ['a JSON array', [{ username: 'x', password: 'password-123' }]],
    ] as const) {
      it(`refuses ${label} with 400 invalid_request`, async () => {
        assertError(await admin.call('POST', '/users', { json: body }), 400, 'invalid_request');
      });
    }

    it('updates password, profile and disabled; null clears a field; then deletes', async () => {
      const created = await admin.call('POST', '/users', {
        json: { username: 'dave', password: 'first-password', name: 'Dave', email: 'dave@example.test' },
      });
      assert.equal(created.status, 201, created.text);
      const route = `/users/${encodeURIComponent(created.json?.sub as string)}`;

      const newPassword = 'second-password';
      const passwordChange = await admin.call('PUT', route, { json: { password: newPassword } });
      assert.equal(passwordChange.status, 200, passwordChange.text);
      assertNoSecrets(passwordChange, newPassword);
      assert.equal(passwordChange.json?.name, 'Dave', 'fields not given are kept');
      assert.ok(Date.parse(passwordChange.json?.updated_at as string) >= Date.parse(created.json?.updated_at as string));
      assertError(await admin.call('PUT', route, { json: { password: 'short' } }), 400, 'invalid_request');
      assertError(await admin.call('PUT', route, { json: { password: 'x'.repeat(257) } }), 400, 'invalid_request');

      const profile = await admin.call('PUT', route, {
        json: { name: 'David', given_name: 'David', family_name: 'Bowman', email: 'david@example.test', email_verified: true },
      });
      assert.equal(profile.status, 200, profile.text);
      assert.equal(profile.json?.name, 'David');
      assert.equal(profile.json?.given_name, 'David');
      assert.equal(profile.json?.family_name, 'Bowman');
      assert.equal(profile.json?.email, 'david@example.test');
      assert.equal(profile.json?.email_verified, true);
      assert.equal(profile.json?.username, 'dave');

      const disabled = await admin.call('PUT', route, { json: { disabled: true, name: null } });
      assert.equal(disabled.status, 200, disabled.text);
      assert.equal(disabled.json?.disabled, true);
      assert.equal(disabled.json?.name, null);

      const read = await admin.call('GET', route);
      assert.equal(read.json?.disabled, true);
      assert.equal(read.json?.name, null);
      assert.equal(read.json?.family_name, 'Bowman');
      assert.equal(read.json?.email, 'david@example.test');

      const enabled = await admin.call('PUT', route, { json: { disabled: false } });
      assert.equal(enabled.json?.disabled, false);

      assertError(await admin.call('PUT', route, { json: { sub: 'another' } }), 400, 'invalid_request');

      const deleted = await admin.call('DELETE', route);
      assert.equal(deleted.status, 204);
      assertError(await admin.call('GET', route), 404);
      assertError(await admin.call('DELETE', route), 404);
      assertError(await admin.call('PUT', route, { json: { name: 'ghost' } }), 404);
    });

    it('treats SQL metacharacters in usernames and ids as plain strings', async () => {
      const created = await admin.call('POST', '/users', { json: { username: sqlInjection, password: 'password-123' } });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json?.username, sqlInjection);
      const read = await admin.call('GET', `/users/${encodeURIComponent(created.json?.sub as string)}`);
      assert.equal(read.json?.username, sqlInjection);
      assertError(await admin.call('POST', '/users', { json: { username: sqlInjection, password: 'password-456' } }), 409);

      for (const id of [sqlInjection, "x' OR '1'='1", 'no-such-sub']) {
        assertError(await admin.call('GET', `/users/${encodeURIComponent(id)}`), 404);
        assertError(await admin.call('DELETE', `/users/${encodeURIComponent(id)}`), 404);
        assertError(await admin.call('PUT', `/users/${encodeURIComponent(id)}`, { json: { name: 'x' } }), 404);
      }
      // The tables are all still there.
      for (const route of ['/users', '/clients', '/resources']) {
        assert.equal((await admin.call('GET', route)).status, 200);
      }
      assert.ok(
        ((await admin.call('GET', '/users?limit=200')).json?.items as { username: string }[]).some(
          (user) => user.username === 'alice',
        ),
        'earlier users are still there',
      );
    });
  });

  describe('resources (APIs)', () => {
    const inventory = 'https://api.test/inventory/v1';
    const route = `/resources/${encodeURIComponent(inventory)}`;

    it('creates, reads, lists, replaces and deletes an API by its URL-encoded identifier', async () => {
      const created = await admin.call('POST', '/resources', {
        json: { identifier: inventory, name: 'Inventory', scopes: ['inventory.read', 'inventory.write'], access_token_ttl: 900 },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.headers.get('location'), `/admin${route}`);
      assert.equal(created.json?.identifier, inventory);
      assert.deepEqual(created.json?.scopes, ['inventory.read', 'inventory.write']);
      assert.equal(created.json?.access_token_ttl, 900);
      assert.equal(created.json?.access_token_format, 'jwt');
      assert.equal(created.json?.client_id, null);

      const read = await admin.call('GET', route);
      assert.equal(read.status, 200, read.text);
      assert.equal(read.json?.name, 'Inventory');

      const list = await admin.call('GET', '/resources');
      const identifiers = (list.json?.items as { identifier: string }[]).map((item) => item.identifier);
      assert.ok(identifiers.includes(inventory));
      assert.ok(identifiers.includes(ordersApi));

      const replaced = await admin.call('PUT', route, { json: { scopes: ['inventory.read'], access_token_ttl: 120 } });
      assert.equal(replaced.status, 200, replaced.text);
      assert.deepEqual(replaced.json?.scopes, ['inventory.read']);
      assert.equal(replaced.json?.access_token_ttl, 120);
      assert.equal(replaced.json?.name, null, 'PUT replaces: the name left out is gone');
      assert.deepEqual((await admin.call('GET', route)).json?.scopes, ['inventory.read']);

      // The new TTL is what tokens get.
      const { clientId, clientSecret } = await createClient({ grant_types: ['client_credentials'], scope: 'inventory.read' });
      const token = await requestToken(server.url, {
        clientId,
        clientSecret,
        params: { grant_type: 'client_credentials', resource: inventory, scope: 'inventory.read' },
        log,
      });
      assert.equal(token.status, 200, token.text);
      assert.equal(token.json?.expires_in, 120);

      assertError(
        await admin.call('PUT', route, { json: { identifier: 'https://api.test/renamed', scopes: ['inventory.read'] } }),
        400,
        'invalid_request',
      );

      const deleted = await admin.call('DELETE', route);
      assert.equal(deleted.status, 204);
      assertError(await admin.call('GET', route), 404);
      assertError(await admin.call('DELETE', route), 404);
      assertError(await admin.call('PUT', route, { json: { scopes: ['inventory.read'] } }), 404);
      // A deleted API gets no more tokens.
      const after = await requestToken(server.url, {
        clientId,
        clientSecret,
        params: { grant_type: 'client_credentials', resource: inventory, scope: 'inventory.read' },
        log,
      });
      assertError(after, 400, 'invalid_target');
    });

    it('refuses a duplicate identifier with 409', async () => {
      const answer = await admin.call('POST', '/resources', { json: { identifier: ordersApi, scopes: ['orders.read'] } });
      assertError(answer, 409);
      // The original is unchanged.
      const read = await admin.call('GET', `/resources/${encodeURIComponent(ordersApi)}`);
      assert.deepEqual(read.json?.scopes, ['orders.read', 'orders.write']);
      assert.equal(read.json?.access_token_ttl, 600);
    });

    it('refuses the admin API identifier', async () => {
      const answer = await admin.call('POST', '/resources', { json: { identifier: `${server.issuer}/admin`, scopes: ['x.read'] } });
      assert.ok(answer.status === 400 || answer.status === 409, answer.text);
    });

    it('links an API to an existing client only (400 otherwise); deleting the client unlinks it', async () => {
      const linked = 'https://api.test/linked';
      const missing = await admin.call('POST', '/resources', {
        json: { identifier: linked, scopes: ['linked.read'], client_id: 'no-such-client' },
      });
      assertError(missing, 400, 'invalid_request');
      assertError(await admin.call('GET', `/resources/${encodeURIComponent(linked)}`), 404);

      const { clientId } = await createClient({ grant_types: ['client_credentials'], scope: 'orders.read' });
      const created = await admin.call('POST', '/resources', {
        json: { identifier: linked, scopes: ['linked.read'], client_id: clientId },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json?.client_id, clientId);

      const badPut = await admin.call('PUT', `/resources/${encodeURIComponent(linked)}`, {
        json: { scopes: ['linked.read'], client_id: sqlInjection },
      });
      assertError(badPut, 400, 'invalid_request');
      assert.equal((await admin.call('GET', `/resources/${encodeURIComponent(linked)}`)).json?.client_id, clientId);

      assert.equal((await admin.call('DELETE', `/clients/${encodeURIComponent(clientId)}`)).status, 204);
      assert.equal((await admin.call('GET', `/resources/${encodeURIComponent(linked)}`)).json?.client_id, null);
    });

    for (const [label, body] of [
      ['a relative identifier', { identifier: 'orders', scopes: ['x.read'] }],
      ['an identifier with a fragment', { identifier: 'https://api.test/x#frag', scopes: ['x.read'] }],
      ['no scopes', { identifier: 'https://api.test/noscopes', scopes: [] }],
      ['a scope with a space', { identifier: 'https://api.test/space', scopes: ['a b'] }],
      ['a reserved OIDC scope', { identifier: 'https://api.test/openid', scopes: ['openid'] }],
      ['the admin scope', { identifier: 'https://api.test/adminscope', scopes: ['admin'] }],
      ['a TTL of the wrong type', { identifier: 'https://api.test/ttl', scopes: ['x.read'], access_token_ttl: '600' }],
      ['a TTL of zero', { identifier: 'https://api.test/ttl0', scopes: ['x.read'], access_token_ttl: 0 }],
      ['an unknown token format', { identifier: 'https://api.test/fmt', scopes: ['x.read'], access_token_format: 'paseto' }],
      ['an unknown field', { identifier: 'https://api.test/extra', scopes: ['x.read'], audience: 'x' }],
    ] as const) {
      it(`refuses ${label} with 400 invalid_request`, async () => {
        assertError(await admin.call('POST', '/resources', { json: body }), 400, 'invalid_request');
      });
    }

    it('reads 404 for unknown identifiers, SQL metacharacters included', async () => {
      for (const id of ['https://api.test/none', "'; DROP TABLE resources; --", sqlInjection]) {
        assertError(await admin.call('GET', `/resources/${encodeURIComponent(id)}`), 404);
        assertError(await admin.call('DELETE', `/resources/${encodeURIComponent(id)}`), 404);
      }
    });
  });

  describe('request bodies', () => {
    it('answers malformed JSON with 400 invalid_request', async () => {
      for (const route of ['/users', '/clients', '/resources']) {
        const answer = await admin.call('POST', route, { raw: { body: '{"username": "x",', contentType: 'application/json' } });
        assertError(answer, 400, 'invalid_request');
      }
    });

    it('answers a non-JSON content type with 415', async () => {
      const form = await admin.call('POST', '/users', {
        raw: { body: 'username=x&password=password-123', contentType: 'application/x-www-form-urlencoded' },
      });
      assertError(form, 415);
      const text = await admin.call('POST', '/clients', { raw: { body: '{}', contentType: 'text/plain' } });
      assertError(text, 415);
      const none = await admin.call('POST', '/resources');
      assertError(none, 415);
    });

    it('answers a body over 64 KiB with 413, declared or streamed', async () => {
      const big = JSON.stringify({ username: 'big', password: 'password-123', name: 'x'.repeat(70 * 1024) });
      assertError(await admin.call('POST', '/users', { raw: { body: big, contentType: 'application/json' } }), 413);

      const chunk = new TextEncoder().encode('x'.repeat(8 * 1024));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 10; i += 1) controller.enqueue(chunk);
          controller.close();
        },
      });
      const response = await fetch(`${server.url}/admin/clients`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      log.record('POST', '/admin/clients', response);
      assert.equal(response.status, 413);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_request');
    });

    it('accepts a body just under the limit', async () => {
      const answer = await admin.call('POST', '/users', {
        raw: { body: JSON.stringify({ username: 'padded', password: 'password-123' }) + ' '.repeat(60 * 1024), contentType: 'application/json' },
      });
      assert.equal(answer.status, 201, answer.text);
    });
  });

  describe('keys and unknown routes', () => {
    it('shows the signing keys without private parts', async () => {
      const answer = await admin.call('GET', '/keys');
      assert.equal(answer.status, 200);
      const keys = answer.json?.keys as Record<string, unknown>[];
      assert.ok(keys.length >= 2);
      for (const key of keys) {
        for (const field of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(key[field], undefined);
        assert.equal(typeof key.kid, 'string');
      }
    });

    it('answers an unknown admin route with 404, and still requires a token', async () => {
      assertError(await admin.call('GET', '/no-such-thing'), 404);
      assertError(await admin.call('GET', '/no-such-thing', { token: null }), 401);
    });
  });

  describe('every admin response', () => {
    it('was no-store and none was a 5xx', () => {
      const adminEntries = log.entries.filter((entry) => entry.path.startsWith('/admin'));
      assert.ok(adminEntries.length > 100, `many admin responses were checked (${adminEntries.length})`);
      const cacheable = adminEntries.filter((entry) => entry.cacheControl !== 'no-store');
      assert.deepEqual(cacheable, [], 'every admin response has Cache-Control: no-store');
      log.assertNoServerErrors();
    });
  });
});

describe(`admin API password changes reach the store (${storesLabel})`, () => {
  let env: TestEnvironment;

  before(async () => {
    env = await createTestEnvironment();
  });

  after(async () => {
    await env?.cleanup();
  });

  it('stores an argon2id hash of the new password in place of the old one', async () => {
    const server = await env.start();
    const log = new ResponseLog();
    const token = await getAdminToken(server.url, log);
    const admin = createAdminApi(server.url, () => token, log);
    const created = await admin.call('POST', '/users', { json: { username: 'Erin', password: 'old-password-1' } });
    assert.equal(created.status, 201, created.text);
    const changed = await admin.call('PUT', `/users/${encodeURIComponent(created.json?.sub as string)}`, {
      json: { password: 'new-password-2' },
    });
    assert.equal(changed.status, 200, changed.text);
    log.assertNoServerErrors();
    await server.close();

    // The server is closed, so its database (PGlite allows one opener) can be read directly.
    const db = await openDatabase(server.config);
    try {
      const user = await findUserByUsername(db, 'erin');
      assert.ok(user, 'found case-insensitively');
      assert.equal(user.sub, created.json?.sub);
      assert.match(user.passwordHash, /^\$argon2id\$/);
      assert.equal(await verifyPassword(user.passwordHash, 'new-password-2'), true);
      assert.equal(await verifyPassword(user.passwordHash, 'old-password-1'), false);
    } finally {
      await db.close();
    }
  });
});
