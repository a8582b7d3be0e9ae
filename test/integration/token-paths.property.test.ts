// The fast paths (src/oidc/fast-path) answer exactly as oidc-provider would: a property test over
// generated client-credentials (RFC 6749 §4.4), token-exchange (RFC 8693) and introspection
// (RFC 7662) requests — valid and invalid, every client authentication method (RFC 6749 §2.3.1
// Basic and form secrets, RFC 7523 §2.2 private_key_jwt with inline keys, a public client's bare
// client_id), missing and repeated parameters, odd encodings (%-escapes in Basic, '+' or %20,
// over-encoded bytes, unknown parameters, other content types, empty values), with and without a
// DPoP proof (RFC 9449: a good one binds both paths' tokens to the same key; a bad one is refused).
// Each request is sent twice: as generated, which the fast path answers when it can, and with
// one unknown parameter added, which the library ignores (RFC 6749 §3.2) and the fast path never
// takes (token-fast-path.test.ts uses the same hand-off). Both must give the same status, error
// code and description, headers, claims (but for the token's own jti/iat/exp/iat_ms) and audit
// events. Which path answered is read from portcullis_token_fast_path_requests_total.
// Replay a failure with PROPERTY_SEED=<seed> (and fast-check's printed path); PROPERTY_RUNS sets
// how many requests each property generates.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { CompactSign, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { fastPathServedCount } from '../helpers/fast-path.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth, createAdminApi, getAdminToken, readResponse, ResponseLog, type AdminApi, type JsonResponse } from '../helpers/http-support.js';
import { dpopKey, dpopProof, type DpopKey } from '../helpers/dpop.js';

const seed = Number(process.env.PROPERTY_SEED ?? 16_016);
const numRuns = Number(process.env.PROPERTY_RUNS ?? 100);

const ordersApi = 'https://api.test/prop-orders';
const opaqueApi = 'https://api.test/prop-opaque';
const inventoryApi = 'https://api.test/prop-inventory';
const shippingApi = 'https://api.test/prop-shipping';
const warehouseApi = 'https://api.test/prop-warehouse';
const unknownApi = 'https://api.test/prop-nowhere';
const exchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';
const jwtTokenType = 'urn:ietf:params:oauth:token-type:jwt';
const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

type Endpoint = 'token' | 'introspection';
type ClientName = 'basic' | 'post' | 'jwt' | 'public' | 'inventory' | 'jwt-service';
/** Clients of the set-up only (the audit-trail marker). */
type SetUpClient = 'marker';
/** A parameter's value: given once, several times, or absent. */
type Value = string | string[] | undefined;

/** How the client authenticates (what is sent, signed afresh for each of the two requests). */
type Auth =
  | { method: 'client_secret_basic'; client: ClientName; secret: 'right' | 'wrong'; encoding: 'rfc' | 'percent-first' | 'lowercase-scheme'; formClientId: 'none' | 'same' | 'other' }
  | { method: 'client_secret_post'; client: ClientName; secret: 'right' | 'wrong' | 'empty' | 'missing'; clientId: 'right' | 'missing' | 'empty' }
  | {
      method: 'private_key_jwt';
      client: ClientName;
      assertion: 'good' | 'token-endpoint-aud' | 'aud-array' | 'expired' | 'long-lived' | 'other-key' | 'no-jti' | 'garbage';
      type: 'right' | 'wrong' | 'missing';
      formClientId: 'none' | 'same' | 'other';
    }
  | { method: 'none'; client: ClientName }
  | { method: 'missing' }
  | { method: 'two-mechanisms'; client: ClientName };

/** How the body is written: its content type and how the form is encoded. */
interface Encoding {
  contentType: 'form' | 'form-charset' | 'form-charset-upper' | 'form-latin1' | 'text-plain' | 'json' | 'absent';
  /** '+' for a space (WHATWG form serialiser), %20 (RFC 3986), or every byte %-escaped. */
  escaping: 'plus' | 'percent20' | 'every-byte';
}

/** A DPoP proof with the request (RFC 9449): none, a good one (made afresh for each send), or a refused one. */
type DpopVariant = 'none' | 'good' | 'wrong-htu' | 'stale';

interface GeneratedRequest {
  endpoint: Endpoint;
  auth: Auth;
  params: [string, Value][];
  encoding: Encoding;
  dpop: DpopVariant;
}

// --- generators ------------------------------------------------------------------------------

const dpop: fc.Arbitrary<DpopVariant> = fc.oneof(
  { arbitrary: fc.constant<DpopVariant>('none'), weight: 6 },
  { arbitrary: fc.constant<DpopVariant>('good'), weight: 3 },
  { arbitrary: fc.constantFrom<DpopVariant>('wrong-htu', 'stale'), weight: 1 },
);

const secretClients: ClientName[] = ['basic', 'post', 'inventory'];
const anyClient = fc.constantFrom<ClientName>('basic', 'post', 'jwt', 'public', 'inventory', 'jwt-service');

type SecretOrKey = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/**
 * A method and mostly its usual client (so the fast path has work), any client sometimes. The
 * library also takes client_secret_post from a client_secret_basic client (and the reverse),
 * which the fast path leaves to it: `weights` says how often each method is generated.
 */
function authFor(usual: Record<SecretOrKey, ClientName>, weights: Record<SecretOrKey, number> = { client_secret_basic: 4, client_secret_post: 3, private_key_jwt: 3 }): fc.Arbitrary<Auth> {
  const clientFor = (method: keyof typeof usual) => fc.oneof({ arbitrary: fc.constant(usual[method]), weight: 8 }, { arbitrary: anyClient, weight: 1 });
  return fc.oneof(
    {
      weight: weights.client_secret_basic,
      arbitrary: fc.record({
        method: fc.constant('client_secret_basic' as const),
        client: clientFor('client_secret_basic'),
        secret: fc.oneof({ arbitrary: fc.constant('right' as const), weight: 10 }, { arbitrary: fc.constant('wrong' as const), weight: 1 }),
        encoding: fc.oneof(
          { arbitrary: fc.constant('rfc' as const), weight: 10 },
          { arbitrary: fc.constantFrom('percent-first' as const, 'lowercase-scheme' as const), weight: 1 },
        ),
        formClientId: fc.oneof({ arbitrary: fc.constant('none' as const), weight: 10 }, { arbitrary: fc.constantFrom('same' as const, 'other' as const), weight: 1 }),
      }),
    },
    {
      weight: weights.client_secret_post,
      arbitrary: fc.record({
        method: fc.constant('client_secret_post' as const),
        client: clientFor('client_secret_post'),
        secret: fc.oneof({ arbitrary: fc.constant('right' as const), weight: 12 }, { arbitrary: fc.constantFrom('wrong' as const, 'empty' as const, 'missing' as const), weight: 1 }),
        clientId: fc.oneof({ arbitrary: fc.constant('right' as const), weight: 12 }, { arbitrary: fc.constantFrom('missing' as const, 'empty' as const), weight: 1 }),
      }),
    },
    {
      weight: weights.private_key_jwt,
      arbitrary: fc.record({
        method: fc.constant('private_key_jwt' as const),
        client: clientFor('private_key_jwt'),
        assertion: fc.oneof(
          { arbitrary: fc.constant('good' as const), weight: 8 },
          {
            arbitrary: fc.constantFrom('token-endpoint-aud' as const, 'aud-array' as const, 'expired' as const, 'long-lived' as const, 'other-key' as const, 'no-jti' as const, 'garbage' as const),
            weight: 2,
          },
        ),
        type: fc.oneof({ arbitrary: fc.constant('right' as const), weight: 8 }, { arbitrary: fc.constantFrom('wrong' as const, 'missing' as const), weight: 1 }),
        formClientId: fc.oneof({ arbitrary: fc.constant('none' as const), weight: 8 }, { arbitrary: fc.constantFrom('same' as const, 'other' as const), weight: 1 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ method: fc.constant('none' as const), client: anyClient }) },
    { weight: 1, arbitrary: fc.record({ method: fc.constant('missing' as const) }) },
    { weight: 1, arbitrary: fc.record({ method: fc.constant('two-mechanisms' as const), client: fc.constantFrom(...secretClients) }) },
  );
}

/** Mostly the usual value once; sometimes absent, empty, repeated or another value. */
function parameter(usual: fc.Arbitrary<string>, others: fc.Arbitrary<string> = fc.constant('x'), absentWeight = 1): fc.Arbitrary<Value> {
  return fc.oneof(
    { arbitrary: usual, weight: 24 },
    { arbitrary: fc.constant(undefined), weight: absentWeight },
    { arbitrary: fc.constant(''), weight: 1 },
    { arbitrary: others, weight: 1 },
    { arbitrary: fc.tuple(usual, fc.oneof(usual, others)).map((pair) => [...pair]), weight: 1 },
  );
}

const encoding: fc.Arbitrary<Encoding> = fc.record({
  contentType: fc.oneof(
    { arbitrary: fc.constant('form' as const), weight: 20 },
    { arbitrary: fc.constantFrom('form-charset' as const, 'form-charset-upper' as const), weight: 2 },
    { arbitrary: fc.constantFrom('form-latin1' as const, 'text-plain' as const, 'json' as const, 'absent' as const), weight: 1 },
  ),
  escaping: fc.oneof({ arbitrary: fc.constant('plus' as const), weight: 4 }, { arbitrary: fc.constantFrom('percent20' as const, 'every-byte' as const), weight: 1 }),
});

/** Sometimes an unknown parameter, or one the library reads but the fast path does not. */
const extra: fc.Arbitrary<[string, Value][]> = fc.oneof(
  { arbitrary: fc.constant<[string, Value][]>([]), weight: 16 },
  { arbitrary: fc.constantFrom<[string, Value][]>([['foo', 'bar']], [['audience', 'https://api.test/x']], [['client_id', '']]), weight: 1 },
);

/** A space-separated scope, in any order, a scope repeated now and then; or nothing. */
function scopeOf(scopes: string[], others: string[]): fc.Arbitrary<Value> {
  const list = fc.subarray(scopes, { minLength: 1 }).chain((chosen) => fc.shuffledSubarray([...chosen, ...chosen], { minLength: chosen.length }));
  return parameter(
    list.map((chosen) => chosen.join(' ')),
    fc.constantFrom(...others),
    3,
  );
}

const clientCredentialsRequest: fc.Arbitrary<GeneratedRequest> = fc.record({
  endpoint: fc.constant('token' as const),
  auth: authFor({ client_secret_basic: 'basic', client_secret_post: 'post', private_key_jwt: 'jwt' }),
  params: fc
    .tuple(
      parameter(fc.constant('client_credentials'), fc.constantFrom('password', 'CLIENT_CREDENTIALS')),
      parameter(fc.constant(ordersApi), fc.constantFrom(opaqueApi, unknownApi, 'not a url')),
      scopeOf(['orders.read', 'orders.write'], ['orders.audit', 'billing.read', 'openid', 'orders.read  orders.write', 'orders.read\torders.write']),
      extra,
    )
    .map(([grant, resource, scope, more]): [string, Value][] => [['grant_type', grant], ['resource', resource], ['scope', scope], ...more]),
  encoding,
  dpop,
});

/**
 * Tokens by name. 'own-api-token' is a token addressed to the API the caller acts for (inventory's
 * or jwt-service's), the subject a service exchanges on a call chain.
 */
type SubjectName = 'own-api-token' | 'inventory-token' | 'orders-token' | 'revoked' | 'opaque' | 'garbage';

const exchangeRequest: fc.Arbitrary<GeneratedRequest> = fc.record({
  endpoint: fc.constant('token' as const),
    // inventory is a client_secret_basic client: its form secret is the library's to take.
  auth: authFor({ client_secret_basic: 'inventory', client_secret_post: 'inventory', private_key_jwt: 'jwt-service' }, { client_secret_basic: 6, client_secret_post: 2, private_key_jwt: 5 }),
  params: fc
    .tuple(
      parameter(fc.constant<SubjectName>('own-api-token'), fc.constantFrom<SubjectName>('inventory-token', 'orders-token', 'revoked', 'opaque', 'garbage')),
      parameter(fc.constant(accessTokenType), fc.constantFrom(jwtTokenType, 'urn:example:bogus')),
      parameter(fc.constant(shippingApi), fc.constantFrom(ordersApi, unknownApi)),
      scopeOf(['shipping.read', 'shipping.write'], ['shipping.admin', 'orders.read']),
      fc.oneof({ arbitrary: fc.constant(undefined), weight: 20 }, { arbitrary: fc.constantFrom<SubjectName>('own-api-token', 'garbage'), weight: 1 }),
      extra,
    )
    .map(([subject, subjectType, resource, scope, actor, more]): [string, Value][] => [
      ['grant_type', exchangeGrant],
      ['subject_token', subject],
      ['subject_token_type', subjectType],
      ['resource', resource],
      ['scope', scope],
      ['actor_token', actor],
      ...(actor === undefined ? [] : ([['actor_token_type', accessTokenType]] as [string, Value][])),
      ...more,
    ]),
  encoding,
  dpop,
});

const introspectionRequest: fc.Arbitrary<GeneratedRequest> = fc.record({
  endpoint: fc.constant('introspection' as const),
  auth: authFor({ client_secret_basic: 'basic', client_secret_post: 'post', private_key_jwt: 'jwt' }),
  params: fc
    .tuple(
      parameter(fc.constantFrom<SubjectName | 'post-token'>('orders-token', 'post-token'), fc.constantFrom<SubjectName>('revoked', 'opaque', 'garbage', 'inventory-token')),
      fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 6 },
        { arbitrary: fc.constant('access_token'), weight: 3 },
        { arbitrary: fc.constantFrom('refresh_token', 'bogus', ''), weight: 1 },
      ),
      extra,
    )
    .map(([token, hint, more]): [string, Value][] => [['token', token], ['token_type_hint', hint], ...more]),
  encoding,
  dpop,
});

// --- the test --------------------------------------------------------------------------------

describe(`fast path and library path answer alike, by property (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: AdminApi;
  const log = new ResponseLog();
  const clients = {} as Record<ClientName | SetUpClient, { id: string; secret?: string }>;
  let jwtKey: { key: CryptoKey; kid: string };
  let otherKey: CryptoKey;
  /** One client key for every proof of the run, so both paths bind to the same cnf.jkt. */
  let dpopKeyOfRun: DpopKey;
  /** Token values by name (introspection subjects, exchange subjects). */
  const tokens = {} as Record<Exclude<SubjectName, 'own-api-token'> | 'post-token' | 'warehouse-token', string>;
  let lastEventId = 0;

  async function register(metadata: Record<string, unknown>): Promise<{ id: string; secret?: string }> {
    const created = await admin.call('POST', '/clients', { json: { grant_types: ['client_credentials'], ...metadata } });
    assert.equal(created.status, 201, created.text);
    return { id: created.json!.client_id as string, secret: created.json!.client_secret as string | undefined };
  }

  async function assertion(client: ClientName, variant: Extract<Auth, { method: 'private_key_jwt' }>['assertion']): Promise<string> {
    if (variant === 'garbage') return 'not.a.jwt';
    const id = clients[client].id;
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { iss: id, sub: id, aud: server.issuer, jti: crypto.randomUUID(), iat: now, exp: now + 60 };
    if (variant === 'token-endpoint-aud') claims.aud = `${server.issuer}/token`;
    if (variant === 'aud-array') claims.aud = [server.issuer];
    if (variant === 'expired') Object.assign(claims, { iat: now - 120, exp: now - 60 });
    if (variant === 'long-lived') claims.exp = now + 24 * 60 * 60;
    if (variant === 'no-jti') delete claims.jti;
    return new CompactSign(Buffer.from(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'ES256', kid: jwtKey.kid })
      .sign(variant === 'other-key' ? otherKey : jwtKey.key);
  }

  const secretOf = (client: ClientName) => clients[client].secret ?? clients.basic.secret!;

  /** The headers and extra form parameters of an authentication (a fresh assertion each call). */
  async function credentials(auth: Auth): Promise<{ headers: Record<string, string>; params: [string, string][] }> {
    switch (auth.method) {
      case 'client_secret_basic': {
        const id = clients[auth.client].id;
        let secret = auth.secret === 'right' ? secretOf(auth.client) : 'wrong-secret';
        // RFC 6749 §2.3.1: the parts are form-URL-encoded, so an escaped character means itself.
        if (auth.encoding === 'percent-first') secret = `%${secret.charCodeAt(0).toString(16).toUpperCase()}${secret.slice(1)}`;
        const header = auth.encoding === 'percent-first' ? `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` : basicAuth(id, secret);
        const params: [string, string][] = auth.formClientId === 'none' ? [] : [['client_id', auth.formClientId === 'same' ? id : clients.post.id]];
        return { headers: { authorization: auth.encoding === 'lowercase-scheme' ? header.replace(/^Basic/, 'basic') : header }, params };
      }
      case 'client_secret_post': {
        const params: [string, string][] = [];
        if (auth.clientId !== 'missing') params.push(['client_id', auth.clientId === 'right' ? clients[auth.client].id : '']);
        if (auth.secret !== 'missing') params.push(['client_secret', auth.secret === 'right' ? secretOf(auth.client) : auth.secret === 'empty' ? '' : 'wrong-secret']);
        return { headers: {}, params };
      }
      case 'private_key_jwt': {
        const params: [string, string][] = [['client_assertion', await assertion(auth.client, auth.assertion)]];
        if (auth.type !== 'missing') params.push(['client_assertion_type', auth.type === 'right' ? assertionType : 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer']);
        if (auth.formClientId !== 'none') params.push(['client_id', auth.formClientId === 'same' ? clients[auth.client].id : clients.basic.id]);
        return { headers: {}, params };
      }
      case 'none':
        return { headers: {}, params: [['client_id', clients[auth.client].id]] };
      case 'missing':
        return { headers: {}, params: [] };
      case 'two-mechanisms':
        return { headers: { authorization: basicAuth(clients[auth.client].id, secretOf(auth.client)) }, params: [['client_secret', secretOf(auth.client)]] };
    }
  }

  const everyByte = (text: string) => [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');

  function encode(pairs: [string, string][], escaping: Encoding['escaping']): string {
    if (escaping === 'plus') return new URLSearchParams(pairs).toString();
    const escape = escaping === 'every-byte' ? everyByte : encodeURIComponent;
    return pairs.map(([name, value]) => `${escape(name)}=${escape(value)}`).join('&');
  }

  const contentTypes: Record<Encoding['contentType'], string | undefined> = {
    form: 'application/x-www-form-urlencoded',
    'form-charset': 'application/x-www-form-urlencoded; charset=utf-8',
    'form-charset-upper': 'application/x-www-form-urlencoded;charset=UTF-8',
    'form-latin1': 'application/x-www-form-urlencoded; charset=iso-8859-1',
    'text-plain': 'text/plain',
    json: 'application/json',
    absent: undefined,
  };

  /** A parameter value, with a token's name replaced by the token. */
  function tokenValue(auth: Auth, value: string): string {
    if (value === 'own-api-token') return 'client' in auth && auth.client === 'jwt-service' ? tokens['warehouse-token'] : tokens['inventory-token'];
    return Object.hasOwn(tokens, value) ? tokens[value as keyof typeof tokens] : value;
  }

  /** The proof's claims for a variant: the token endpoint's URL, or what the gate refuses. */
  function dpopVariant(variant: Exclude<DpopVariant, 'none'>): Parameters<typeof dpopProof>[1] {
    const htu = `${server.issuer}/token`;
    if (variant === 'wrong-htu') return { htu: `${server.issuer}/elsewhere` };
    if (variant === 'stale') return { htu, iat: Math.floor(Date.now() / 1000) - 600 };
    return { htu };
  }

  /** Sends the request (with `unrelated=x` appended when `handOver`), says which path answered. */
  async function send(request: GeneratedRequest, handOver: boolean): Promise<JsonResponse & { served: boolean }> {
    const { headers, params: authParams } = await credentials(request.auth);
    const pairs: [string, string][] = [];
    for (const [name, value] of request.params) {
      for (const item of value === undefined ? [] : [value].flat()) pairs.push([name, tokenValue(request.auth, item)]);
    }
    pairs.push(...authParams);
    if (handOver) pairs.push(['unrelated', 'x']);
    const contentType = contentTypes[request.encoding.contentType];
    const body = request.encoding.contentType === 'json' ? JSON.stringify(Object.fromEntries(pairs)) : encode(pairs, request.encoding.escaping);
    const path = request.endpoint === 'token' ? '/token' : '/token/introspection';
    const before = await fastPathServedCount(server.url, request.endpoint);
    const proof: Record<string, string> = request.dpop === 'none' ? {} : { dpop: await dpopProof(dpopKeyOfRun, dpopVariant(request.dpop)) };
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { ...(contentType ? { 'content-type': contentType } : {}), ...headers, ...proof },
      // Bytes, so fetch adds no content type of its own when there is none.
      body: Buffer.from(body),
    });
    log.record('POST', path, response);
    const answer = await readResponse(response);
    return { ...answer, served: (await fastPathServedCount(server.url, request.endpoint)) > before };
  }

  /**
   * Audit events recorded since the last call, without their ids and times, oldest first.
   * Refusals are recorded without the request waiting for the write (oidc/audit-events.ts), so
   * this first has one more refusal recorded, for the marker client (an assertion signed with a
   * key it does not have), and reads the trail until that one is in it: the trail is written in
   * the order events are recorded (audit/audit.ts), so everything before it is there too.
   */
  async function newEvents(): Promise<unknown[]> {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: clients.marker.id, sub: clients.marker.id, aud: server.issuer, jti: crypto.randomUUID(), iat: now, exp: now + 60 };
    const marker = await fetch(`${server.url}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: assertionType,
        client_assertion: await new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256', kid: jwtKey.kid }).sign(otherKey),
      }),
    });
    assert.equal(marker.status, 401, await marker.text());
    const isMarker = (event: { client_id?: string | null }) => event.client_id === clients.marker.id;
    let items: { id: number; client_id?: string | null }[] = [];
    for (let attempt = 0; !items.some(isMarker); attempt += 1) {
      assert.ok(attempt < 200, 'the marker event reaches the audit trail');
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const listed = await admin.call('GET', '/events?limit=200');
      assert.equal(listed.status, 200, listed.text);
      items = (listed.json!.items as { id: number }[]).filter((event) => event.id > lastEventId);
    }
    lastEventId = Math.max(lastEventId, ...items.map((event) => event.id));
    return items
      .filter((event) => !isMarker(event))
      .reverse()
      .map(({ id: _id, occurred_at: _at, ...event }: { id: number; occurred_at?: string }) => event);
  }

  /** The same answer from both paths: everything but the token's own identity and timing. */
  function assertSameAnswer(fast: JsonResponse, library: JsonResponse): void {
    assert.equal(fast.status, library.status, `status: ${fast.text} / ${library.text}`);
    for (const header of ['cache-control', 'content-type', 'www-authenticate', 'pragma']) assert.equal(fast.headers.get(header), library.headers.get(header), header);
    const [a, b] = [fast.json, library.json];
    assert.ok(a && b, `JSON bodies: ${fast.text} / ${library.text}`);
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
    for (const [name, value] of Object.entries(b)) if (name !== 'access_token') assert.deepEqual(a[name], value, name);
    if (typeof b.access_token !== 'string') return;
    const [fastToken, libraryToken] = [a.access_token as string, b.access_token];
    if (libraryToken.split('.').length !== 3) {
      assert.equal(fastToken.split('.').length, 1, 'both opaque');
      return;
    }
    assert.deepEqual(decodeProtectedHeader(fastToken), decodeProtectedHeader(libraryToken));
    const [fastClaims, libraryClaims] = [decodeJwt(fastToken), decodeJwt(libraryToken)];
    assert.deepEqual(Object.keys(fastClaims).sort(), Object.keys(libraryClaims).sort());
    for (const [name, value] of Object.entries(libraryClaims)) {
      if (!['jti', 'iat', 'exp', 'iat_ms'].includes(name)) assert.deepEqual(fastClaims[name], value, `claim ${name}`);
    }
    assert.equal(fastClaims.exp! - fastClaims.iat!, libraryClaims.exp! - libraryClaims.iat!, 'lifetime');
    assert.notEqual(fastClaims.jti, libraryClaims.jti);
  }

  const tally = { runs: 0, served: 0, refused: 0 };

  async function sameOnBothPaths(request: GeneratedRequest): Promise<void> {
    await newEvents();
    const fast = await send(request, false);
    const fastEvents = await newEvents();
    const library = await send(request, true);
    const libraryEvents = await newEvents();
    assert.equal(library.served, false, 'an unknown parameter always hands the request to the library');
    assert.ok(fast.status < 500 && library.status < 500, `${fast.text} / ${library.text}`);
    // A fast path only answers what it grants; every refusal is the library's.
    if (fast.served) assert.equal(fast.status, 200, fast.text);
    assertSameAnswer(fast, library);
    assert.deepEqual(fastEvents, libraryEvents, 'audit events');
    tally.runs += 1;
    if (fast.served) tally.served += 1;
    if (fast.status >= 400) tally.refused += 1;
  }

  /** Runs the property; a failure names the seed to replay it with. */
  async function check(name: string, requests: fc.Arbitrary<GeneratedRequest>): Promise<void> {
    Object.assign(tally, { runs: 0, served: 0, refused: 0 });
    await fc.assert(fc.asyncProperty(requests, sameOnBothPaths), { numRuns, seed, endOnFailure: true });
    // Not vacuous: the generated requests reached both paths and both answers.
    assert.equal(tally.runs, numRuns);
    assert.ok(tally.served >= numRuns / 10, `${name}: only ${tally.served} of ${numRuns} served by the fast path`);
    assert.ok(tally.served <= numRuns - numRuns / 10, `${name}: ${tally.served} of ${numRuns} served: too few hand-overs`);
    assert.ok(tally.refused >= numRuns / 10, `${name}: only ${tally.refused} of ${numRuns} refused`);
  }

  before(async () => {
    dpopKeyOfRun = await dpopKey();
    env = await createTestEnvironment();
    // Every run makes a few admin calls (the audit trail): above the default per-IP admin rate.
    server = await env.start({ ADMIN_REQUESTS_PER_IP: '1000000' });
    const adminToken = await getAdminToken(server.url, log);
    admin = createAdminApi(server.url, () => adminToken, log);
    for (const api of [
      { identifier: ordersApi, scopes: ['orders.read', 'orders.write', 'orders.audit'], access_token_ttl: 420 },
      { identifier: opaqueApi, scopes: ['opaque.read'], access_token_format: 'opaque' },
      { identifier: shippingApi, scopes: ['shipping.read', 'shipping.write', 'shipping.admin'], access_token_ttl: 120 },
    ]) {
      const created = await admin.call('POST', '/resources', { json: api });
      assert.equal(created.status, 201, created.text);
    }
    const scope = 'orders.read orders.write opaque.read';
    clients.basic = await register({ scope });
    clients.post = await register({ scope, token_endpoint_auth_method: 'client_secret_post' });
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    otherKey = (await generateKeyPair('ES256')).privateKey;
    jwtKey = { key: privateKey, kid: 'property-key' };
    clients.jwt = await register({
      scope,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: jwtKey.kid, alg: 'ES256', use: 'sig' }] },
    });
    clients.marker = await register({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: jwtKey.kid, alg: 'ES256', use: 'sig' }] },
    });
    clients.public = await register({
      grant_types: ['authorization_code'],
      redirect_uris: ['https://public.example.test/cb'],
      token_endpoint_auth_method: 'none',
      scope: 'orders.read',
    });
    // Token exchange (RFC 8693): inventory acts for its API and trades a caller's token for shipping.
    clients.inventory = await register({ grant_types: ['client_credentials', exchangeGrant], scope: 'shipping.read shipping.write' });
    const inventory = await admin.call('POST', '/resources', {
      json: { identifier: inventoryApi, scopes: ['inventory.read'], access_token_ttl: 600, client_id: clients.inventory.id },
    });
    assert.equal(inventory.status, 201, inventory.text);
    clients['jwt-service'] = await register({
      grant_types: ['client_credentials', exchangeGrant],
      scope: 'shipping.read shipping.write',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: jwtKey.kid, alg: 'ES256', use: 'sig' }] },
    });
    const warehouse = await admin.call('POST', '/resources', {
      json: { identifier: warehouseApi, scopes: ['warehouse.read'], client_id: clients['jwt-service'].id },
    });
    assert.equal(warehouse.status, 201, warehouse.text);
    const updated = await admin.call('PUT', `/clients/${encodeURIComponent(clients.basic.id)}`, {
      json: { grant_types: ['client_credentials'], scope: `${scope} inventory.read warehouse.read` },
    });
    assert.equal(updated.status, 200, updated.text);

    const issue = async (client: ClientName, resource: string): Promise<string> => {
      const params = { grant_type: 'client_credentials', resource };
      const response = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: client === 'post' ? {} : { authorization: basicAuth(clients[client].id, clients[client].secret!) },
        body: new URLSearchParams(client === 'post' ? { ...params, client_id: clients.post.id, client_secret: clients.post.secret! } : params),
      });
      const answer = await readResponse(response);
      assert.equal(answer.status, 200, answer.text);
      return answer.json!.access_token as string;
    };
    tokens['inventory-token'] = await issue('basic', inventoryApi);
    tokens['warehouse-token'] = await issue('basic', warehouseApi);
    tokens['orders-token'] = await issue('basic', ordersApi);
    tokens['post-token'] = await issue('post', ordersApi);
    tokens.opaque = await issue('basic', opaqueApi);
    tokens.revoked = await issue('basic', ordersApi);
    const revoked = await admin.call('POST', '/revocations', { json: { jti: decodeJwt(tokens.revoked).jti } });
    assert.ok(revoked.status < 300, revoked.text);
    tokens.garbage = 'a.b.c';
  });

  after(async () => {
    await env?.cleanup();
    log.assertNoServerErrors();
  });

  it('client credentials (RFC 6749 §4.4): the same answer, token and audit from both paths', () => check('client credentials', clientCredentialsRequest));

  it('token exchange (RFC 8693): the same answer, token and audit from both paths', () => check('token exchange', exchangeRequest));

  it('introspection (RFC 7662): the same answer and audit from both paths', () => check('introspection', introspectionRequest));
});
