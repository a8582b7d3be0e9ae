// RFC 8693 token exchange down a chain of services: a user's token for API A is traded by A's
// client for API B, and B's token for API D, with nested `act` claims; and every refusal.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import { adminRequest, basicAuth, createUser, getAdminToken } from '../helpers/admin.js';
import { authorizationRequest, BrowserlessUser } from '../helpers/http-login.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { createTokenVerifier, type TokenVerificationError, type TokenVerifier } from '../../src/verify/index.js';

const exchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';
const callback = 'https://web.example.test/callback';
const apis = {
  a: 'https://a.api.test',
  b: 'https://b.api.test',
  c: 'https://c.api.test',
  d: 'https://d.api.test',
};

interface TokenAnswer {
  status: number;
  body: Record<string, string>;
}

/**
 * A user's access token for `resource` from the code flow through the first-party client 'web'
 * (scope openid a.r, PKCE); `redeem` posts the token request as 'web'.
 */
async function userAccessToken(
  issuer: string,
  username: string,
  password: string,
  resource: string,
  redeem: (form: Record<string, string>) => Promise<TokenAnswer>,
): Promise<string> {
  const { url, verifier } = authorizationRequest(issuer, 'web', callback, { scope: 'openid a.r', resource });
  const redirect = await new BrowserlessUser(callback).authorize(url, username, password);
  const issued = await redeem({
    grant_type: 'authorization_code',
    code: redirect.searchParams.get('code')!,
    code_verifier: verifier,
    redirect_uri: callback,
    resource,
  });
  assert.equal(issued.status, 200, JSON.stringify(issued.body));
  return issued.body.access_token!;
}

describe(`token exchange (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  const secrets: Record<string, string> = {};
  let userToken: string;
  let userSub: string;

  async function token(clientId: string, body: Record<string, string | string[]>, url = server.url) {
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(body)) {
      for (const item of Array.isArray(value) ? value : [value]) form.append(name, item);
    }
    const response = await fetch(`${url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth(clientId, secrets[clientId]!) },
      body: form,
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  }

  function exchange(clientId: string, subjectToken: string, extra: Record<string, string | string[]> = {}) {
    return token(clientId, {
      grant_type: exchangeGrant,
      subject_token: subjectToken,
      subject_token_type: accessTokenType,
      ...extra,
    });
  }

  async function verify(value: string, audience: string): Promise<JWTPayload> {
    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    return (await jwtVerify(value, jwks, { issuer: server.issuer, audience, typ: 'at+jwt' })).payload;
  }

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    const admin = await getAdminToken(server.url);
    const service = async (name: string, scope: string, grants = ['client_credentials', exchangeGrant]) => {
      const created = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
        client_id: name,
        grant_types: grants,
        ...(scope ? { scope } : {}),
      });
      secrets[name] = created.client_secret as string;
    };
    // APIs first (clients may only hold scopes an API defines), then their clients, then the
    // link: each API is served by the client named after it (api<x>), which may trade tokens
    // addressed to it.
    const apiBody = (name: string) => ({ scopes: [`${name}.r`, `${name}.w`], access_token_ttl: name === 'd' ? 120 : 600 });
    for (const [name, identifier] of Object.entries(apis)) {
      await adminRequest(server.url, admin, 'POST', '/admin/resources', { identifier, ...apiBody(name) });
    }
    await service('apia', 'b.r c.r');
    await service('apib', 'd.r');
    await service('apic', '');
    await service('apid', '');
    await service('no-exchange', 'b.r', ['client_credentials']);
    for (const [name, identifier] of Object.entries(apis)) {
      await adminRequest(server.url, admin, 'PUT', `/admin/resources/${encodeURIComponent(identifier)}`, {
        ...apiBody(name),
        client_id: `api${name}`,
      });
    }

    const web = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: 'web',
      grant_types: ['authorization_code'],
      redirect_uris: [callback],
      scope: 'openid a.r',
      first_party: true,
    });
    secrets.web = web.client_secret as string;
    userSub = await createUser(server.url, admin, { username: 'dana', password: 'dana password 1' });

    userToken = await userAccessToken(server.url, 'dana', 'dana password 1', apis.a, (form) => token('web', form));
    assert.equal(decodeJwt(userToken).aud, apis.a);
  });

  after(() => env.cleanup());

  it('trades A → B → D with nested act claims, narrowing scope and lifetime', async () => {
    const toB = await exchange('apia', userToken, { resource: apis.b, scope: 'b.r' });
    assert.equal(toB.status, 200, JSON.stringify(toB.body));
    assert.equal(toB.body.issued_token_type, accessTokenType);
    assert.equal(toB.body.token_type, 'Bearer');
    const b = await verify(toB.body.access_token!, apis.b);
    assert.equal(b.sub, userSub);
    assert.equal(b.client_id, 'apia');
    assert.equal(b.scope, 'b.r');
    assert.deepEqual(b.act, { sub: 'apia' });

    const toD = await exchange('apib', toB.body.access_token!, { audience: apis.d });
    assert.equal(toD.status, 200, JSON.stringify(toD.body));
    const d = await verify(toD.body.access_token!, apis.d);
    assert.equal(d.sub, userSub);
    assert.equal(d.client_id, 'apib');
    assert.equal(d.scope, 'd.r');
    assert.deepEqual(d.act, { sub: 'apib', act: { sub: 'apia' } });
    assert.ok(d.exp! - d.iat! <= 120, 'no longer than the target API TTL');
    assert.ok(d.exp! <= b.exp!, 'never outlives the subject token');
    assert.ok(b.exp! <= decodeJwt(userToken).exp!, 'never outlives the subject token');
  });

  it('exchanges for C as well, and introspection shows act to the caller', async () => {
    const toC = await exchange('apia', userToken, { resource: apis.c });
    assert.equal(toC.status, 200, JSON.stringify(toC.body));
    const introspection = await fetch(`${server.url}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basicAuth('apia', secrets.apia!) },
      body: new URLSearchParams({ token: toC.body.access_token! }),
    });
    const answer = (await introspection.json()) as Record<string, unknown>;
    assert.equal(answer.active, true);
    assert.deepEqual(answer.act, { sub: 'apia' });
    assert.equal(answer.sub, userSub);
  });

  const refusals: [string, () => Promise<{ status: number; body: Record<string, string> }>, string][] = [
    ['a token not addressed to an API the caller acts for', () => exchange('apib', userToken, { resource: apis.d }), 'invalid_grant'],
    ['a target the caller may not reach', () => exchange('apia', userToken, { resource: apis.d }), 'invalid_target'],
    ['an unknown target', () => exchange('apia', userToken, { resource: 'https://nowhere.test' }), 'invalid_target'],
    ['two different targets', () => exchange('apia', userToken, { resource: apis.b, audience: apis.c }), 'invalid_target'],
    ['a scope the target does not define', () => exchange('apia', userToken, { resource: apis.b, scope: 'c.r' }), 'invalid_scope'],
    ['a scope beyond the caller', () => exchange('apia', userToken, { resource: apis.b, scope: 'b.w' }), 'invalid_scope'],
    ['no target', () => exchange('apia', userToken), 'invalid_request'],
    ['no subject token', () => token('apia', { grant_type: exchangeGrant, subject_token_type: accessTokenType, resource: apis.b }), 'invalid_request'],
    ['an unsupported subject token type', () => exchange('apia', userToken, { resource: apis.b, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }), 'invalid_request'],
    ['a malformed subject token', () => exchange('apia', 'not-a-token', { resource: apis.b }), 'invalid_grant'],
    ['a forged subject token', () => exchange('apia', forgedToken(), { resource: apis.b }), 'invalid_grant'],
    ['an actor token without its type', () => exchange('apia', userToken, { resource: apis.b, actor_token: userToken }), 'invalid_request'],
    ['an actor token that is not the caller\'s', () => exchange('apia', userToken, { resource: apis.b, actor_token: userToken, actor_token_type: accessTokenType }), 'invalid_grant'],
  ];

  function forgedToken(): string {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(userToken) })).toString('base64url');
    return `${header}.${payload}.`;
  }

  for (const [label, call, error] of refusals) {
    it(`refuses ${label} with ${error}`, async () => {
      const result = await call();
      assert.equal(result.status, 400, JSON.stringify(result.body));
      assert.equal(result.body.error, error, JSON.stringify(result.body));
      assert.equal(result.body.access_token, undefined);
    });
  }

  it('refuses a client that does not hold the token-exchange grant type', async () => {
    const result = await exchange('no-exchange', userToken, { resource: apis.b });
    assert.ok(result.status === 400 || result.status === 401, `status ${result.status}`);
    assert.ok(['unauthorized_client', 'invalid_request'].includes(result.body.error!), JSON.stringify(result.body));
    assert.equal(result.body.access_token, undefined);
  });

  it('refuses to register a public client for token exchange', async () => {
    const admin = await getAdminToken(server.url);
    const response = await fetch(`${server.url}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ grant_types: [exchangeGrant], token_endpoint_auth_method: 'none', scope: 'b.r' }),
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: string }).error, 'invalid_client_metadata');
  });

  it('accepts an actor token that belongs to the caller', async () => {
    const own = await token('apia', { grant_type: 'client_credentials', resource: apis.b });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    const result = await exchange('apia', userToken, {
      resource: apis.b,
      actor_token: own.body.access_token!,
      actor_token_type: accessTokenType,
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.deepEqual(decodeJwt(result.body.access_token!).act, { sub: 'apia' });
  });

  it('records exchanges and refusals in the audit trail: who, for whom, the chain, the target', async () => {
    const admin = await getAdminToken(server.url);
    const toB = await exchange('apia', userToken, { resource: apis.b });
    await exchange('apib', toB.body.access_token!, { resource: apis.d });
    await exchange('apib', userToken, { resource: apis.d });
    const page = await adminRequest(server.url, admin, 'GET', `/admin/events?type=token_exchange&sub=${userSub}&limit=200`);
    const events = page.items as { outcome: string; client_id: string; sub: string; details: Record<string, unknown> }[];
    const hop = events.find((event) => event.outcome === 'success' && event.client_id === 'apib');
    assert.ok(hop, 'the B → D exchange is recorded');
    assert.deepEqual(hop.details.chain, ['apib', 'apia']);
    assert.equal(hop.details.target, apis.d);
    const refusal = events.find((event) => event.outcome === 'failure' && event.client_id === 'apib');
    assert.ok(refusal, 'the refused exchange is recorded');
    assert.match(String(refusal.details.reason), /not addressed to an API this client acts for/);
    assert.ok(!JSON.stringify(events).includes(userToken), 'tokens are never stored');

    // Paging and filters of GET /admin/events.
    const first = await adminRequest(server.url, admin, 'GET', '/admin/events?type=token_exchange&limit=1');
    const second = await adminRequest(server.url, admin, 'GET', `/admin/events?type=token_exchange&limit=1&after=${String(first.next_cursor)}`);
    const [newest] = first.items as { id: number }[];
    const [older] = second.items as { id: number }[];
    assert.ok(newest && older && older.id < newest.id, 'newest first, pages continue with next_cursor');
    const future = await adminRequest(server.url, admin, 'GET', `/admin/events?since=${new Date(Date.now() + 60_000).toISOString()}`);
    assert.deepEqual(future.items, []);
    const bad = await fetch(`${server.url}/admin/events?since=yesterday-ish`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(bad.status, 400);
  });

  it('refuses a revoked subject token', async () => {
    const toB = await exchange('apia', userToken, { resource: apis.b });
    const revoked = await fetch(`${server.url}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basicAuth('apia', secrets.apia!) },
      body: new URLSearchParams({ token: toB.body.access_token! }),
    });
    assert.equal(revoked.status, 200);
    const result = await exchange('apib', toB.body.access_token!, { resource: apis.d });
    assert.equal(result.body.error, 'invalid_grant');
  });

  // Last: it revokes the user's grant, and with it userToken.
  it('revokes what was exchanged from a grant when the grant is revoked', async () => {
    const toB = await exchange('apia', userToken, { resource: apis.b });
    assert.equal(toB.status, 200, JSON.stringify(toB.body));
    const grantId = decodeJwt(userToken).gid as string;
    assert.ok(grantId, 'a user token names its grant');
    assert.equal(decodeJwt(toB.body.access_token!).gid, grantId, 'the exchanged token carries the subject token\'s grant');
    const introspect = async () => {
      const response = await fetch(`${server.url}/token/introspection`, {
        method: 'POST',
        headers: { authorization: basicAuth('apia', secrets.apia!) },
        body: new URLSearchParams({ token: toB.body.access_token! }),
      });
      return ((await response.json()) as { active: boolean }).active;
    };
    assert.equal(await introspect(), true);
    const admin = await getAdminToken(server.url);
    await adminRequest(server.url, admin, 'POST', '/admin/revocations', { grant_id: grantId });
    assert.equal(await introspect(), false);
    assert.equal((await exchange('apib', toB.body.access_token!, { resource: apis.d })).body.error, 'invalid_grant');
  });
});

describe(`token exchange chain depth limit (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  const secrets: Record<string, string> = {};

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start({ TOKEN_EXCHANGE_MAX_DEPTH: '1' });
    const admin = await getAdminToken(server.url);
    for (const name of ['b', 'c', 'd']) {
      await adminRequest(server.url, admin, 'POST', '/admin/resources', { identifier: apis[name as 'b'], scopes: [`${name}.r`] });
    }
    for (const [name, scope] of [['apia', 'b.r'], ['apib', 'd.r'], ['apid', 'c.r']] as const) {
      const created = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
        client_id: name,
        grant_types: ['client_credentials', exchangeGrant],
        scope,
      });
      secrets[name] = created.client_secret as string;
    }
    await adminRequest(server.url, admin, 'PUT', `/admin/resources/${encodeURIComponent(apis.b)}`, { scopes: ['b.r'], client_id: 'apib' });
    await adminRequest(server.url, admin, 'PUT', `/admin/resources/${encodeURIComponent(apis.d)}`, { scopes: ['d.r'], client_id: 'apid' });
  });

  after(() => env.cleanup());

  async function token(clientId: string, body: Record<string, string>) {
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth(clientId, secrets[clientId]!) },
      body: new URLSearchParams(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  }

  it('allows one hop and refuses the second with TOKEN_EXCHANGE_MAX_DEPTH=1', async () => {
    const start = await token('apia', { grant_type: 'client_credentials', resource: apis.b });
    assert.equal(start.status, 200, JSON.stringify(start.body));
    const hop1 = await token('apib', {
      grant_type: exchangeGrant,
      subject_token: start.body.access_token!,
      subject_token_type: accessTokenType,
      resource: apis.d,
    });
    assert.equal(hop1.status, 200, JSON.stringify(hop1.body));
    assert.deepEqual(decodeJwt(hop1.body.access_token!).act, { sub: 'apib' });
    const hop2 = await token('apid', {
      grant_type: exchangeGrant,
      subject_token: hop1.body.access_token!,
      subject_token_type: accessTokenType,
      resource: apis.c,
    });
    assert.equal(hop2.status, 400, JSON.stringify(hop2.body));
    assert.equal(hop2.body.error, 'invalid_grant');
    assert.equal(hop2.body.access_token, undefined);
  });
});

// Issue #14: a revocation of a subject token, its client or its user reaches every token
// exchanged from it, down a chain of exchanges, whatever the targets' formats: here
// (introspection, further exchange) and at an API that verifies offline (the feed).
describe(`token exchange lineage and revocation (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: string;
  let verifier: TokenVerifier;
  const secrets: Record<string, string> = {};
  // root → (by apia) JWT for B → (by apib) opaque for O → (by apio) JWT for D
  const chainApis = { a: apis.a, b: apis.b, o: 'https://o.api.test', d: apis.d };

  async function post(path: string, clientId: string, form: Record<string, string>) {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: basicAuth(clientId, secrets[clientId]!) },
      body: new URLSearchParams(form),
    });
    return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, string> };
  }

  async function exchanged(clientId: string, subject: string, resource: string): Promise<string> {
    const answer = await post('/token', clientId, {
      grant_type: exchangeGrant,
      subject_token: subject,
      subject_token_type: accessTokenType,
      resource,
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.access_token!;
  }

  /** The chain below a root token addressed to A: [B (JWT), O (opaque), D (JWT)]. */
  async function chainFrom(root: string): Promise<{ b: string; o: string; d: string }> {
    const b = await exchanged('apia', root, chainApis.b);
    const o = await exchanged('apib', b, chainApis.o);
    const d = await exchanged('apio', o, chainApis.d);
    return { b, o, d };
  }

  async function active(token: string, asker: string): Promise<boolean> {
    const answer = await post('/token/introspection', asker, { token });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return (answer.body as unknown as { active: boolean }).active;
  }

  async function assertChainLives(chain: { b: string; o: string; d: string }, label: string): Promise<void> {
    assert.equal(await active(chain.b, 'apib'), true, `${label}: B`);
    assert.equal(await active(chain.o, 'apio'), true, `${label}: O (opaque)`);
    assert.equal(await active(chain.d, 'apid'), true, `${label}: D`);
    await verifier.verify(chain.d);
  }

  async function assertChainDead(chain: { b: string; o: string; d: string }, label: string): Promise<void> {
    assert.equal(await active(chain.b, 'apib'), false, `${label}: B`);
    assert.equal(await active(chain.o, 'apio'), false, `${label}: O (opaque)`);
    assert.equal(await active(chain.d, 'apid'), false, `${label}: D`);
    // Nor can any of them be exchanged further.
    assert.equal((await post('/token', 'apib', { grant_type: exchangeGrant, subject_token: chain.b, subject_token_type: accessTokenType, resource: chainApis.o })).body.error, 'invalid_grant', `${label}: B exchanged`);
    assert.equal((await post('/token', 'apio', { grant_type: exchangeGrant, subject_token: chain.o, subject_token_type: accessTokenType, resource: chainApis.d })).body.error, 'invalid_grant', `${label}: O exchanged`);
    // At D, verifying offline: refused once the feed has delivered the revocation.
    const started = Date.now();
    for (;;) {
      const refused = await verifier.verify(chain.d).then(
        () => false,
        (error: TokenVerificationError) => error.code === 'ERR_TOKEN_REVOKED',
      );
      if (refused) break;
      if (Date.now() - started > 5_000) assert.fail(`${label}: portcullis/verify still accepts D`);
      await sleep(10);
    }
  }

  async function clientCredentials(clientId: string, resource: string): Promise<string> {
    const answer = await post('/token', clientId, { grant_type: 'client_credentials', resource });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.access_token!;
  }

  async function userRoot(username: string): Promise<{ token: string; sub: string }> {
    const sub = await createUser(server.url, admin, { username, password: `${username} password 1` });
    const token = await userAccessToken(server.url, username, `${username} password 1`, chainApis.a, (form) => post('/token', 'web', form));
    return { token, sub };
  }

  async function registerClient(clientId: string, metadata: Record<string, unknown>): Promise<void> {
    const created = await adminRequest(server.url, admin, 'POST', '/admin/clients', { client_id: clientId, ...metadata });
    secrets[clientId] = created.client_secret as string;
  }

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    admin = await getAdminToken(server.url);
    const apiBody = (name: string) => ({
      scopes: [`${name}.r`],
      ...(name === 'o' ? { access_token_format: 'opaque' } : {}),
    });
    for (const [name, identifier] of Object.entries(chainApis)) {
      await adminRequest(server.url, admin, 'POST', '/admin/resources', { identifier, ...apiBody(name) });
    }
    const services = { apia: 'b.r', apib: 'o.r', apio: 'd.r', apid: '' };
    for (const [name, scope] of Object.entries(services)) {
      await registerClient(name, { grant_types: ['client_credentials', exchangeGrant], ...(scope ? { scope } : {}) });
    }
    for (const [name, identifier] of Object.entries(chainApis)) {
      await adminRequest(server.url, admin, 'PUT', `/admin/resources/${encodeURIComponent(identifier)}`, {
        ...apiBody(name),
        client_id: `api${name}`,
      });
    }
    await registerClient('web', { grant_types: ['authorization_code'], redirect_uris: [callback], scope: 'openid a.r', first_party: true });
    verifier = createTokenVerifier({
      issuer: server.issuer,
      audience: chainApis.d,
      revocationFeed: { getAccessToken: () => clientCredentials('apid', `${server.issuer}/revocations`) },
    });
    await verifier.ready();
  });

  after(async () => {
    verifier?.close();
    await env.cleanup();
  });

  it('carries the lineage: exchanged_from names the tokens and clients up the chain, never an opaque token itself', async () => {
    await registerClient('lineage-root', { grant_types: ['client_credentials'], scope: 'a.r' });
    const root = await clientCredentials('lineage-root', chainApis.a);
    const chain = await chainFrom(root);
    const b = decodeJwt(chain.b);
    const d = decodeJwt(chain.d);
    assert.deepEqual(b.exchanged_from, [{ jti: decodeJwt(root).jti, client_id: 'lineage-root' }]);
    const lineage = d.exchanged_from as { jti: string; client_id: string }[];
    assert.deepEqual(lineage.map((ancestor) => ancestor.client_id), ['apib', 'apia', 'lineage-root']);
    assert.match(lineage[0]!.jti, /^sha256:/, 'the opaque token is named by a digest');
    assert.ok(!JSON.stringify(d).includes(chain.o), 'the opaque token value never travels');
    assert.deepEqual(lineage.slice(1), [{ jti: b.jti, client_id: 'apia' }, ...(b.exchanged_from as unknown[])]);
    assert.deepEqual(d.act, { sub: 'apio', act: { sub: 'apib', act: { sub: 'apia' } } });
  });

  it('regression: exchanged tokens outlived revocations of their source — revoking the root token by jti kills the chain', async () => {
    await registerClient('jti-root', { grant_types: ['client_credentials'], scope: 'a.r' });
    const root = await clientCredentials('jti-root', chainApis.a);
    const chain = await chainFrom(root);
    await assertChainLives(chain, 'before');
    await adminRequest(server.url, admin, 'POST', '/admin/revocations', { jti: decodeJwt(root).jti });
    await assertChainDead(chain, 'root jti revoked');
  });

  it('regression: exchanged tokens outlived revocations of their source — deleting the root token\'s client kills the chain', async () => {
    await registerClient('doomed-root', { grant_types: ['client_credentials'], scope: 'a.r' });
    const chain = await chainFrom(await clientCredentials('doomed-root', chainApis.a));
    await assertChainLives(chain, 'before');
    const response = await fetch(`${server.url}/admin/clients/doomed-root`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(response.status, 204);
    await assertChainDead(chain, 'root client deleted');
  });

  it('regression: exchanged tokens outlived revocations of their source — revoking the root\'s client through the admin API kills the chain, and a chain made after lives', async () => {
    const { token } = await userRoot('root-client-user');
    const chain = await chainFrom(token);
    await assertChainLives(chain, 'before');
    await adminRequest(server.url, admin, 'POST', '/admin/revocations', { client_id: 'web' });
    await assertChainDead(chain, 'root client revoked');
    await assertChainLives(await chainFrom((await userRoot('after-client-user')).token), 'a chain from a later login');
  });

  it('revoking the user kills the chain (the user stays `sub` at every hop, opaque hops included)', async () => {
    const { token, sub } = await userRoot('root-user');
    const chain = await chainFrom(token);
    await assertChainLives(chain, 'before');
    await adminRequest(server.url, admin, 'POST', '/admin/revocations', { sub });
    await assertChainDead(chain, 'user revoked');
  });

  it('regression: an exchanged token for an opaque API got a grant of its own — revoking the root grant kills the opaque hop too', async () => {
    const { token } = await userRoot('root-grant-user');
    const chain = await chainFrom(token);
    await assertChainLives(chain, 'before');
    const grantId = decodeJwt(token).gid as string;
    const introspected = await post('/token/introspection', 'apio', { token: chain.o });
    assert.equal((introspected.body as Record<string, unknown>).gid, grantId, 'the opaque token belongs to the root grant');
    await adminRequest(server.url, admin, 'POST', '/admin/revocations', { grant_id: grantId });
    await assertChainDead(chain, 'root grant revoked');
  });

  it('revoking an opaque token by its value at POST /admin/revocations {jti} kills what was exchanged from it, and the feed never carries the value', async () => {
    await registerClient('admin-jti-root', { grant_types: ['client_credentials'], scope: 'a.r' });
    const chain = await chainFrom(await clientCredentials('admin-jti-root', chainApis.a));
    await assertChainLives(chain, 'before');
    await adminRequest(server.url, admin, 'POST', '/admin/revocations', { jti: chain.o });
    assert.equal(await active(chain.o, 'apio'), false, 'O');
    assert.equal(await active(chain.d, 'apid'), false, 'D, exchanged from O');
    assert.equal(await active(chain.b, 'apib'), true, 'B, which O came from');

    // The whole feed, up to `ready`: the digest that names O, never O itself.
    const feed = await fetch(`${server.url}/revocations`, {
      headers: { authorization: `Bearer ${await clientCredentials('apid', `${server.issuer}/revocations`)}` },
    });
    let text = '';
    for await (const chunk of feed.body as unknown as AsyncIterable<Uint8Array>) {
      text += Buffer.from(chunk).toString('utf8');
      if (text.includes('event: ready')) break;
    }
    await feed.body?.cancel().catch(() => {});
    assert.ok(!text.includes(chain.o), 'the opaque token value is not in the feed');
    const reference = (decodeJwt(chain.d).exchanged_from as { jti: string }[])[0]!.jti;
    assert.ok(text.includes(reference), 'its reference is');
  });

  it('revoking an opaque token in the middle (RFC 7009) kills what was exchanged from it, not what it came from', async () => {
    await registerClient('middle-root', { grant_types: ['client_credentials'], scope: 'a.r' });
    const chain = await chainFrom(await clientCredentials('middle-root', chainApis.a));
    await assertChainLives(chain, 'before');
    const revoked = await post('/token/revocation', 'apib', { token: chain.o });
    assert.equal(revoked.status, 200);
    assert.equal(await active(chain.o, 'apio'), false, 'O');
    assert.equal(await active(chain.d, 'apid'), false, 'D, exchanged from O');
    assert.equal(await active(chain.b, 'apib'), true, 'B, which O came from');
  });
});
