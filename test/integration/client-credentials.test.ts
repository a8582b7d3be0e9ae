// The client_credentials grant end to end: an admin registers an API and a client over HTTP, the
// client fetches RFC 9068 access tokens for the API, and a resource server verifies them offline
// against the published JWKS (with jose, and with openid-client as an independent, certified RP).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import {
  basicAuth,
  clientCredentialsToken,
  createAdminApi,
  getAdminToken,
  readResponse,
  requestToken,
  ResponseLog,
  type AdminApi,
  type JsonResponse,
} from '../helpers/http-support.js';

const ordersApi = 'https://api.test/orders';
const billingApi = 'https://api.test/billing';

interface RegisteredClient {
  clientId: string;
  clientSecret: string;
}

describe(`client_credentials (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: AdminApi;
  let adminToken: string;
  let discovery: Record<string, unknown>;
  let ordersClient: RegisteredClient;
  let postClient: RegisteredClient;
  let billingOnlyClient: RegisteredClient;
  const log = new ResponseLog();

  async function registerClient(metadata: Record<string, unknown>): Promise<RegisteredClient> {
    const created = await admin.call('POST', '/clients', { json: metadata });
    assert.equal(created.status, 201, created.text);
    assert.equal(typeof created.json?.client_id, 'string');
    assert.equal(typeof created.json?.client_secret, 'string');
    return { clientId: created.json!.client_id as string, clientSecret: created.json!.client_secret as string };
  }

  function tokenFor(client: RegisteredClient, params: Record<string, string | string[]>, method?: 'basic' | 'post') {
    return requestToken(server.url, {
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      params: { grant_type: 'client_credentials', ...params },
      log,
      ...(method ? { method } : {}),
    });
  }

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    adminToken = await getAdminToken(server.url, log);
    admin = createAdminApi(server.url, () => adminToken, log);

    const orders = await admin.call('POST', '/resources', {
      json: { identifier: ordersApi, scopes: ['orders.read', 'orders.write'], access_token_ttl: 600 },
    });
    assert.equal(orders.status, 201, orders.text);
    const billing = await admin.call('POST', '/resources', {
      json: { identifier: billingApi, scopes: ['billing.read'], access_token_ttl: 300 },
    });
    assert.equal(billing.status, 201, billing.text);

    ordersClient = await registerClient({ grant_types: ['client_credentials'], scope: 'orders.read' });
    postClient = await registerClient({
      grant_types: ['client_credentials'],
      scope: 'orders.read',
      token_endpoint_auth_method: 'client_secret_post',
    });
    billingOnlyClient = await registerClient({ grant_types: ['client_credentials'], scope: 'billing.read' });

    const response = await fetch(`${server.url}/.well-known/openid-configuration`);
    log.record('GET', '/.well-known/openid-configuration', response);
    assert.equal(response.status, 200);
    discovery = (await response.json()) as Record<string, unknown>;
  });

  after(async () => {
    await env?.cleanup();
  });

  describe('registration', () => {
    it('returns the secret once at registration, with the metadata and a generated client_id', async () => {
      const created = await admin.call('POST', '/clients', {
        json: { grant_types: ['client_credentials'], scope: 'orders.read', client_name: 'reporting' },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json?.client_name, 'reporting');
      assert.deepEqual(created.json?.grant_types, ['client_credentials']);
      assert.equal(created.json?.scope, 'orders.read');
      const secret = created.json?.client_secret;
      assert.equal(typeof secret, 'string');
      // 32 random bytes, base64url without padding.
      assert.match(secret as string, /^[A-Za-z0-9_-]{43}$/);

      const read = await admin.call('GET', `/clients/${encodeURIComponent(created.json.client_id as string)}`);
      assert.equal(read.status, 200);
      assert.equal(read.json?.client_secret, undefined);
      assert.ok(!read.text.includes(secret as string), 'the secret is never shown again');
    });
  });

  describe('tokens for an API', () => {
    it('issues an RFC 9068 JWT for the API that verifies against the published JWKS', async () => {
      const answer = await tokenFor(ordersClient, { resource: ordersApi, scope: 'orders.read' });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.json?.token_type, 'Bearer');
      assert.equal(answer.json?.expires_in, 600);
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      const token = answer.json?.access_token as string;

      const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri as string));
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer: server.issuer,
        audience: ordersApi,
        typ: 'at+jwt',
        algorithms: ['ES256'],
      });
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(typeof protectedHeader.kid, 'string');
      assert.equal(payload.iss, server.issuer);
      assert.equal(payload.aud, ordersApi);
      assert.equal(typeof payload.iat, 'number');
      assert.equal(typeof payload.exp, 'number');
      assert.equal(payload.exp! - payload.iat!, 600);
      assert.ok(Math.abs(payload.iat! - Date.now() / 1000) < 60, 'iat is now');
      assert.equal(payload.client_id, ordersClient.clientId);
      assert.equal(payload.sub, ordersClient.clientId);
      assert.equal(payload.scope, 'orders.read');
      assert.equal(typeof payload.jti, 'string');
      assert.ok((payload.jti as string).length >= 16);
    });

    it('gives every token its own jti', async () => {
      const jtis = new Set<string>();
      for (let i = 0; i < 3; i += 1) {
        const token = await clientCredentialsToken(server.url, {
          ...ordersClient,
          params: { resource: ordersApi, scope: 'orders.read' },
          log,
        });
        const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri as string));
        const { payload } = await jwtVerify(token, jwks, { issuer: server.issuer, audience: ordersApi });
        jtis.add(payload.jti as string);
      }
      assert.equal(jtis.size, 3);
    });

    it('works with openid-client (discovery + client_secret_basic + clientCredentialsGrant)', async () => {
      const config = await oidc.discovery(
        new URL(server.issuer),
        ordersClient.clientId,
        undefined,
        oidc.ClientSecretBasic(ordersClient.clientSecret),
        { execute: [oidc.allowInsecureRequests] },
      );
      assert.equal(config.serverMetadata().issuer, server.issuer);
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'orders.read', resource: ordersApi });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      // The lifetime the server sent; expiresIn() counts down from receipt and can already say 599.
      assert.equal(tokens.expires_in, 600);

      const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
      const { payload } = await jwtVerify(tokens.access_token, jwks, {
        issuer: server.issuer,
        audience: ordersApi,
        typ: 'at+jwt',
      });
      assert.equal(payload.client_id, ordersClient.clientId);
      assert.equal(payload.scope, 'orders.read');
    });

    it('accepts client_secret_post for a client registered with it', async () => {
      const answer = await tokenFor(postClient, { resource: ordersApi, scope: 'orders.read' }, 'post');
      assert.equal(answer.status, 200, answer.text);
      const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri as string));
      const { payload } = await jwtVerify(answer.json?.access_token as string, jwks, {
        issuer: server.issuer,
        audience: ordersApi,
        typ: 'at+jwt',
      });
      assert.equal(payload.client_id, postClient.clientId);

      const viaOpenidClient = await oidc.discovery(
        new URL(server.issuer),
        postClient.clientId,
        undefined,
        oidc.ClientSecretPost(postClient.clientSecret),
        { execute: [oidc.allowInsecureRequests] },
      );
      const tokens = await oidc.clientCredentialsGrant(viaOpenidClient, { scope: 'orders.read', resource: ordersApi });
      assert.equal(typeof tokens.access_token, 'string');
    });

    it('without resource, a scope that names exactly one API yields a token for that API', async () => {
      const answer = await tokenFor(ordersClient, { scope: 'orders.read' });
      assert.equal(answer.status, 200, answer.text);
      const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri as string));
      const { payload } = await jwtVerify(answer.json?.access_token as string, jwks, {
        issuer: server.issuer,
        typ: 'at+jwt',
      });
      assert.equal(payload.aud, ordersApi);
      assert.equal(payload.scope, 'orders.read');
      assert.equal(payload.exp! - payload.iat!, 600);
    });
  });

  describe('client authentication failures', () => {
    it('refuses a wrong secret with 401 invalid_client', async () => {
      const answer = await tokenFor(
        { clientId: ordersClient.clientId, clientSecret: `${ordersClient.clientSecret}x` },
        { resource: ordersApi, scope: 'orders.read' },
      );
      assert.equal(answer.status, 401, answer.text);
      assert.equal(answer.json?.error, 'invalid_client');
      assert.equal(answer.json?.access_token, undefined);
    });

    it('refuses a wrong secret sent with client_secret_post with 401 invalid_client', async () => {
      const answer = await tokenFor(
        { clientId: postClient.clientId, clientSecret: 'not-the-secret' },
        { resource: ordersApi, scope: 'orders.read' },
        'post',
      );
      assert.equal(answer.status, 401, answer.text);
      assert.equal(answer.json?.error, 'invalid_client');
    });

    it('refuses an unknown client with 401 invalid_client', async () => {
      const answer = await tokenFor(
        { clientId: 'no-such-client', clientSecret: ordersClient.clientSecret },
        { resource: ordersApi, scope: 'orders.read' },
      );
      assert.equal(answer.status, 401, answer.text);
      assert.equal(answer.json?.error, 'invalid_client');
    });

    for (const [label, header] of [
      ['not base64', 'Basic !!!not-base64!!!'],
      ['no colon', `Basic ${Buffer.from('just-a-client-id').toString('base64')}`],
      ['empty credentials', 'Basic '],
      ['bad percent-encoding', `Basic ${Buffer.from('%zz:%zz').toString('base64')}`],
    ] as const) {
      it(`answers a malformed Basic header (${label}) with 400/401 and an OAuth error`, async () => {
        const response = await fetch(`${server.url}/token`, {
          method: 'POST',
          headers: { authorization: header, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'orders.read' }),
        });
        log.record('POST', '/token', response);
        const answer = await readResponse(response);
        assert.ok([400, 401].includes(answer.status), `status ${answer.status}: ${answer.text}`);
        assert.match(String(answer.json?.error), /^(invalid_request|invalid_client)$/);
      });
    }

    it('refuses a client whose secret was presented by both methods at once', async () => {
      const response = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: {
          authorization: basicAuth(ordersClient.clientId, ordersClient.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          scope: 'orders.read',
          client_id: ordersClient.clientId,
          client_secret: ordersClient.clientSecret,
        }),
      });
      log.record('POST', '/token', response);
      const answer = await readResponse(response);
      // RFC 6749 §2.3: a client must not use more than one authentication method per request.
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.json?.error, 'invalid_request');
    });
  });

  describe('scope and resource policy', () => {
    it('refuses a scope of the API the client was not given with 400 invalid_scope', async () => {
      const answer = await tokenFor(ordersClient, { resource: ordersApi, scope: 'orders.write' });
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.json?.error, 'invalid_scope');
    });

    it('refuses a mix of granted and not granted scopes with 400 invalid_scope', async () => {
      const answer = await tokenFor(ordersClient, { resource: ordersApi, scope: 'orders.read orders.write' });
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.json?.error, 'invalid_scope');
    });

    it('refuses an unknown API with 400 invalid_target', async () => {
      const answer = await tokenFor(ordersClient, { resource: 'https://api.test/unknown', scope: 'orders.read' });
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.json?.error, 'invalid_target');
    });

    it('refuses an API of which the client holds no scope with 400 invalid_target', async () => {
      const answer = await tokenFor(ordersClient, { resource: billingApi });
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.json?.error, 'invalid_target');

      const withScope = await tokenFor(billingOnlyClient, { resource: ordersApi, scope: 'orders.read' });
      assert.equal(withScope.status, 400, withScope.text);
      assert.match(String(withScope.json?.error), /^invalid_(target|scope)$/);
    });

    it('refuses a resource that is not an absolute URI with 400 invalid_target', async () => {
      const answer = await tokenFor(ordersClient, { resource: 'orders', scope: 'orders.read' });
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.json?.error, 'invalid_target');
    });

    it('does not hand out admin tokens to a client without the admin scope', async () => {
      const answer = await tokenFor(ordersClient, { scope: 'admin' });
      assert.equal(answer.status, 400, answer.text);
      assert.match(String(answer.json?.error), /^invalid_(target|scope)$/);
    });

    it('regression: a grant type the client is not registered for was 400 invalid_request — it is unauthorized_client (RFC 6749 §5.2)', async () => {
      const webClient = await registerClient({ grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://app.test/cb'], scope: 'openid orders.read' });
      const exchange = 'urn:ietf:params:oauth:grant-type:token-exchange';
      const subject = await tokenFor(ordersClient, { resource: ordersApi });
      assert.equal(subject.status, 200, subject.text);
      const attempts: [RegisteredClient, Record<string, string>][] = [
        [ordersClient, { grant_type: 'authorization_code', code: 'x', redirect_uri: 'https://app.test/cb', code_verifier: 'x'.repeat(43) }],
        [ordersClient, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) }],
        // With a resource, the client-credentials fast path sees it first and hands it over.
        [webClient, { grant_type: 'client_credentials', resource: ordersApi, scope: 'orders.read' }],
        [webClient, { grant_type: 'client_credentials' }],
        // The token-exchange fast path likewise.
        [ordersClient, { grant_type: exchange, subject_token: subject.json!.access_token as string, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', resource: billingApi }],
      ];
      // client_secret_post too (postClient is registered for it).
      attempts.push([postClient, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) }]);
      for (const [client, params] of attempts) {
        const method = client === postClient ? 'post' : 'basic';
        const answer = await requestToken(server.url, { clientId: client.clientId, clientSecret: client.clientSecret, params, log, method });
        assert.equal(answer.status, 400, answer.text);
        assert.equal(answer.json?.error, 'unauthorized_client', answer.text);
        assert.match(String(answer.json?.error_description), new RegExp(`not registered for the grant type ${params.grant_type}`), answer.text);
        assert.equal(answer.json?.access_token, undefined);
      }
      // Only once authenticated: a wrong secret is still invalid_client, an unknown grant unsupported_grant_type.
      const wrongSecret = await requestToken(server.url, { clientId: webClient.clientId, clientSecret: 'x'.repeat(43), params: { grant_type: 'client_credentials' }, log });
      assert.equal(wrongSecret.status, 401, wrongSecret.text);
      assert.equal(wrongSecret.json?.error, 'invalid_client');
      const unknownGrant = await requestToken(server.url, { ...webClient, params: { grant_type: 'password', username: 'u', password: 'p' }, log });
      assert.equal(unknownGrant.json?.error, 'unsupported_grant_type', unknownGrant.text);
    });

    it('regression: client_credentials with a scope no API defines was invalid_target — it is invalid_scope, with or without resource', async () => {
      const cases: [Record<string, string>, RegExp][] = [
        [{ scope: 'no.such.scope' }, /^requested scope is not allowed for this client$/],
        [{ scope: 'orders.read no.such.scope' }, /^requested scope is not allowed for this client$/],
        [{ scope: 'no.such.scope', resource: ordersApi }, /not defined by the resource/],
        // A scope of an API the client holds none of, or that it does not hold.
        [{ scope: 'billing.read' }, /not allowed for this client/],
        [{ scope: 'orders.write' }, /not allowed for this client/],
        [{ scope: 'orders.write', resource: ordersApi }, /not allowed for this client/],
      ];
      for (const [params, reason] of cases) {
        const answer = await tokenFor(ordersClient, params);
        assert.equal(answer.status, 400, answer.text);
        assert.equal(answer.json?.error, 'invalid_scope', `${JSON.stringify(params)}: ${answer.text}`);
        assert.match(String(answer.json?.error_description), reason, answer.text);
        assert.equal(answer.json?.access_token, undefined);
      }
      // What works keeps working: a known scope names its API.
      const known = await tokenFor(ordersClient, { scope: 'orders.read' });
      assert.equal(known.status, 200, known.text);
    });

    // Without a resource, "no API defines it" versus "not allowed for this client" told any
    // client that can authenticate which scope names exist at APIs it has nothing to do with.
    it('regression: client_credentials told an unknown scope from a scope of another API — both get one answer, so scope names cannot be enumerated', async () => {
      const answers = new Map<string, JsonResponse>();
      // billing.read: defined by the billing API, which ordersClient cannot reach; orders.write:
      // defined by an API it reaches, not held; billing.reed / orders.writ: defined by no API.
      for (const scope of ['billing.read', 'billing.reed', 'orders.write', 'orders.writ']) answers.set(scope, await tokenFor(ordersClient, { scope }));
      for (const [scope, answer] of answers) {
        assert.equal(answer.status, 400, `${scope}: ${answer.text}`);
        assert.equal(answer.headers.get('content-type'), answers.get('billing.read')!.headers.get('content-type'));
        // The whole body is the same for every guess but for the scope it names.
        assert.deepEqual(answer.json, { error: 'invalid_scope', error_description: 'requested scope is not allowed for this client', scope }, scope);
      }
    });
  });

  describe('discovery and JWKS', () => {
    it('advertises the endpoints and only the code flow with S256 PKCE', () => {
      assert.equal(discovery.issuer, server.issuer);
      for (const endpoint of ['jwks_uri', 'token_endpoint', 'introspection_endpoint', 'revocation_endpoint']) {
        assert.equal(typeof discovery[endpoint], 'string', `${endpoint} is advertised`);
        assert.ok((discovery[endpoint] as string).startsWith(`${server.issuer}/`), `${endpoint} is on the issuer`);
      }
      assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(discovery.response_types_supported, ['code']);
      const grantTypes = discovery.grant_types_supported as string[];
      assert.ok(Array.isArray(grantTypes));
      assert.ok(grantTypes.includes('client_credentials'));
      assert.ok(!grantTypes.includes('implicit'));
      assert.ok(!grantTypes.includes('password'));
      const authMethods = discovery.token_endpoint_auth_methods_supported as string[];
      assert.ok(authMethods.includes('client_secret_basic'));
      assert.ok(authMethods.includes('client_secret_post'));
      assert.ok(authMethods.includes('private_key_jwt'));
      assert.ok(!authMethods.includes('client_secret_jwt'), 'no HMAC client authentication');
    });

    it('serves the OAuth 2.0 metadata (RFC 8414) path too', async () => {
      const response = await fetch(`${server.url}/.well-known/oauth-authorization-server`);
      log.record('GET', '/.well-known/oauth-authorization-server', response);
      // oidc-provider serves only the OIDC path; if the OAuth path exists it must agree.
      if (response.status === 200) {
        const metadata = (await response.json()) as Record<string, unknown>;
        assert.equal(metadata.issuer, server.issuer);
        assert.equal(metadata.token_endpoint, discovery.token_endpoint);
      } else {
        await response.body?.cancel();
        assert.ok(response.status < 500);
      }
    });

    it('publishes only public keys, each with a kid, an RS256 and an ES256 key among them', async () => {
      const response = await fetch(discovery.jwks_uri as string);
      log.record('GET', 'jwks', response);
      assert.equal(response.status, 200);
      const jwks = (await response.json()) as { keys: Record<string, unknown>[] };
      assert.ok(Array.isArray(jwks.keys) && jwks.keys.length >= 2);
      for (const key of jwks.keys) {
        for (const field of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) {
          assert.equal(key[field], undefined, `a published key has no "${field}"`);
        }
        assert.equal(typeof key.kid, 'string');
        assert.ok((key.kid as string).length > 0);
      }
      const kids = jwks.keys.map((key) => key.kid);
      assert.equal(new Set(kids).size, kids.length, 'kids are unique');
      const rs256 = jwks.keys.find((key) => key.alg === 'RS256');
      const es256 = jwks.keys.find((key) => key.alg === 'ES256');
      assert.ok(rs256, 'an RS256 key is published');
      assert.equal(rs256.kty, 'RSA');
      assert.ok(es256, 'an ES256 key is published');
      assert.equal(es256.kty, 'EC');
      assert.equal(es256.crv, 'P-256');
    });

    it('signs access tokens with the published ES256 key', async () => {
      const token = await clientCredentialsToken(server.url, {
        ...ordersClient,
        params: { resource: ordersApi, scope: 'orders.read' },
        log,
      });
      const header = decodeProtectedHeader(token);
      const response = await fetch(discovery.jwks_uri as string);
      const jwks = (await response.json()) as { keys: Record<string, unknown>[] };
      const key = jwks.keys.find((candidate) => candidate.kid === header.kid);
      assert.ok(key, 'the token kid is in the JWKS');
      assert.equal(key.alg, 'ES256');
    });
  });

  describe('introspection and revocation endpoints', () => {
    it('answers introspection of an issued JWT by the same client without a server error', async () => {
      const token = await clientCredentialsToken(server.url, {
        ...ordersClient,
        params: { resource: ordersApi, scope: 'orders.read' },
        log,
      });
      const response = await fetch(discovery.introspection_endpoint as string, {
        method: 'POST',
        headers: {
          authorization: basicAuth(ordersClient.clientId, ordersClient.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      });
      log.record('POST', 'introspection', response);
      const answer = await readResponse(response);
      assert.ok(answer.status < 500, `introspection answered ${answer.status}: ${answer.text}`);
    });

    it('requires client authentication at introspection', async () => {
      const response = await fetch(discovery.introspection_endpoint as string, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: 'whatever' }),
      });
      log.record('POST', 'introspection', response);
      const answer = await readResponse(response);
      assert.ok(answer.status === 400 || answer.status === 401, answer.text);
      assert.match(String(answer.json?.error), /^invalid_(client|request)$/);
    });

    // RFC 6749 §5.2 / RFC 7662 §2.3; the library serves these paths in any case, with a trailing slash too.
    it('answers a request without any client authentication with 401 invalid_client, however the path is spelled', async () => {
      for (const path of ['/token', '/TOKEN/', '/Token/Introspection', '/token/revocation/']) {
        const response = await fetch(`${server.url}${path}`, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'client_credentials', token: 'whatever' }),
        });
        const answer = await readResponse(response);
        assert.equal(answer.status, 401, `${path}: ${answer.text}`);
        assert.equal(answer.json?.error, 'invalid_client');
        assert.match(String(response.headers.get('www-authenticate')), /^Basic/);
      }
    });

    // The same answer for every request that names no client, decided from the request
    // (src/oidc/client-auth-errors.ts namesNoClient); a malformed body keeps the library's 400.
    it('answers 401 invalid_client to a client_secret alone and to a Basic header with an empty id; 400 to a body it cannot read', async () => {
      const post = (headers: Record<string, string>, body: string) =>
        fetch(`${server.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
      const cases: Array<[string, Record<string, string>, string, number, string]> = [
        ['client_secret alone', {}, 'grant_type=client_credentials&client_secret=s3cret', 401, 'invalid_client'],
        ['empty client_id', {}, 'grant_type=client_credentials&client_id=', 401, 'invalid_client'],
        ['Basic with an empty id', { authorization: `Basic ${Buffer.from(':s3cret').toString('base64')}` }, 'grant_type=client_credentials', 401, 'invalid_client'],
        ['repeated client_id', {}, 'grant_type=client_credentials&client_id=a&client_id=a', 400, 'invalid_request'],
        ['a JSON body', { 'content-type': 'application/json' }, '{"grant_type":"client_credentials"}', 400, 'invalid_request'],
      ];
      for (const [name, headers, body, status, error] of cases) {
        const response = await post(headers, body);
        const answer = await readResponse(response);
        assert.equal(answer.status, status, `${name}: ${answer.text}`);
        assert.equal(answer.json?.error, error, name);
        if (status === 401) assert.match(String(response.headers.get('www-authenticate')), /^Basic/, name);
      }
    });

    it('answers revocation of an issued token with 200 (RFC 7009)', async () => {
      const token = await clientCredentialsToken(server.url, {
        ...ordersClient,
        params: { resource: ordersApi, scope: 'orders.read' },
        log,
      });
      const response = await fetch(discovery.revocation_endpoint as string, {
        method: 'POST',
        headers: {
          authorization: basicAuth(ordersClient.clientId, ordersClient.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      });
      log.record('POST', 'revocation', response);
      const answer = await readResponse(response);
      assert.equal(answer.status, 200, answer.text);
    });

    it('answers revocation of an unknown token with 200 (RFC 7009 §2.2)', async () => {
      const response = await fetch(discovery.revocation_endpoint as string, {
        method: 'POST',
        headers: {
          authorization: basicAuth(ordersClient.clientId, ordersClient.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token: 'not-a-token-this-server-issued' }),
      });
      log.record('POST', 'revocation', response);
      const answer = await readResponse(response);
      assert.equal(answer.status, 200, answer.text);
    });
  });

  describe('whole suite', () => {
    it('never answered with a 5xx', () => {
      assert.ok(log.entries.length > 20);
      log.assertNoServerErrors();
    });
  });
});
