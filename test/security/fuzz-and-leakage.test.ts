// What an attacker can extract or break without credentials: tokens and secrets in URLs, logs,
// error answers and the audit trail; HSTS behind a TLS-terminating proxy; and property-based
// fuzzing (fast-check) of the token endpoint and the admin API with random and malformed
// bodies, headers and query strings: never a 5xx, never a token.
//
// The server runs in this process with its log captured at `trace`, behind a trusted proxy
// (TRUST_PROXY=true), so every log line can be searched for the secrets used in the flows.
//
// The generators leave out U+0000 and lone UTF-16 surrogates: those already fail with 500 at
// several endpoints and are pinned by the dedicated "malformed input" cases of the other files;
// keeping them out lets the fuzzing find anything else.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { BrowserlessUser } from '../helpers/http-login.js';
import { adminClientId, adminClientSecret, createTestEnvironment, freePort, storesLabel, type TestEnvironment } from '../helpers/server.js';
import {
  accessTokenType,
  apis,
  assertionType,
  basicAuth,
  callback,
  exchangeGrant,
  form,
  generousRateLimits,
  handBuiltJwt,
  interactionUid,
  jwtTokenType,
  nowSeconds,
  password,
  populateFixture,
  send,
  username,
  type Answer,
  type Fixture,
} from './support.js';

const tokenMembers = ['access_token', 'refresh_token', 'id_token', 'issued_token_type'];

/** The fuzzing property: no server error and nothing that looks like an issued token. */
function assertHarmless(answer: Answer, request: string): void {
  assert.ok(answer.status < 500, `server error ${answer.status} for ${request}: ${answer.text.slice(0, 300)}`);
  for (const member of tokenMembers) {
    // A member named like a token anywhere in the JSON (a grant type value "refresh_token" is fine).
    assert.ok(!new RegExp(`"${member}"\\s*:`).test(answer.text), `a token (${member}) for ${request}: ${answer.text.slice(0, 300)}`);
  }
}

// ---- generators -------------------------------------------------------------------------------

const awkward = [
  '\u0001', '\t', '\n', '\r', '\u001b', '\u007f', '\u00a0', '\u200b', '\u202e', '\ufeff', '\ufffd', 'é', 'ß', 'а', '😀',
  '%', '%25', '%2F', '%2e%2e', '%0A', '%C0%AF', '%E2%80%AE', '%FF', '+', '&', '=', ';', '"', "'", '\\', '<', '>', '/', '..', '{', '}', '[', ']', '*',
];
const withoutNul = (value: string) => !value.includes('\u0000') && !/%00/i.test(value);
const character = fc
  .oneof(
    { weight: 8, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
    { weight: 3, arbitrary: fc.constantFrom(...awkward) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  )
  .filter(withoutNul);
const text = (maxLength = 48) => fc.string({ unit: character, maxLength }).filter(withoutNul);
const longText = fc.tuple(fc.constantFrom('a', 'é', '%', '&x=', '.'), fc.integer({ min: 1000, max: 20_000 })).map(([unit, times]) => unit.repeat(times));
const headerText = (maxLength = 120) => fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\t'.split('')), maxLength });

const tokenParameters = [
  'grant_type', 'client_id', 'client_secret', 'code', 'code_verifier', 'redirect_uri', 'refresh_token', 'scope', 'resource', 'audience',
  'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'client_assertion', 'client_assertion_type',
  'username', 'password', 'assertion', 'device_code', 'token', 'token_type_hint', 'nonce', 'state',
];

describe(`security: token leakage, HSTS and fuzzing (${storesLabel})`, () => {
  let env: TestEnvironment | undefined;
  let running: RunningServer | undefined;
  let f: Fixture;
  const logLines: string[] = [];

  before(async () => {
    env = await createTestEnvironment();
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const config = loadConfig({ ...env.env, ...generousRateLimits, PORT: String(port), ISSUER: issuer, HOST: '127.0.0.1', LOG_LEVEL: 'trace', TRUST_PROXY: 'true' });
    running = await startServer(config, createLogger('trace', { write: (line: string) => void logLines.push(line) }));
    f = await populateFixture(env, { ...running, issuer, config, url: issuer });
  });

  after(async () => {
    await running?.close();
    await env?.cleanup();
  });

  /** Values a fuzzer would try: real names of this server mixed with garbage (never a real secret). */
  function realisticValue(): fc.Arbitrary<string> {
    const now = nowSeconds();
    const forgedAssertion = handBuiltJwt({ alg: 'none' }, { iss: 'svc-jwt', sub: 'svc-jwt', aud: f.issuer, exp: now + 60, jti: 'fuzz' });
    const forgedAdmin = handBuiltJwt({ alg: 'none', typ: 'at+jwt' }, { iss: f.issuer, aud: `${f.issuer}/admin`, sub: adminClientId, client_id: adminClientId, scope: 'admin', exp: now + 600, iat: now, jti: 'fuzz' });
    return fc.constantFrom(
      'client_credentials', 'authorization_code', 'refresh_token', exchangeGrant, 'password', 'implicit',
      'svc', 'svc-post', 'svc-jwt', 'web', 'web-post', 'spa', 'native', 'apia', 'apib', adminClientId,
      apis.main, apis.a, apis.b, `${f.issuer}/admin`, f.issuer, `${f.issuer}/token`, 'api.read', 'api.write', 'admin', 'openid offline_access',
      callback, accessTokenType, jwtTokenType, assertionType, forgedAssertion, forgedAdmin, 'S256', 'plain', 'a'.repeat(43),
    );
  }

  function value(): fc.Arbitrary<string> {
    return fc.oneof({ weight: 5, arbitrary: text() }, { weight: 4, arbitrary: realisticValue() }, { weight: 1, arbitrary: fc.constant('') }, { weight: 1, arbitrary: longText });
  }

  function formBody(): fc.Arbitrary<string> {
    const name = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...tokenParameters) }, { weight: 1, arbitrary: text(12) });
    const pairs = fc.array(fc.tuple(name, value()), { maxLength: 12 });
    const raw = fc.oneof(text(200), longText, fc.constantFrom('&&&', '===', '%%%', 'a=%', 'grant_type', '&grant_type=&', '=client_credentials'));
    return fc.oneof({ weight: 4, arbitrary: pairs.map((entries) => new URLSearchParams(entries).toString()) }, { weight: 1, arbitrary: raw }).filter(withoutNul);
  }

  /** Near-valid requests of public clients (which need no secret): they reach the grant logic itself. */
  function nearValidBody(): fc.Arbitrary<string> {
    return fc
      .record(
        {
          grant_type: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('authorization_code', 'refresh_token', 'client_credentials', exchangeGrant, 'password') }, { weight: 1, arbitrary: text(20) }),
          client_id: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('spa', 'spa2', 'native') }, { weight: 1, arbitrary: text(12) }),
          code: fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 43, maxLength: 43 }), value()),
          code_verifier: fc.oneof(fc.constant('a'.repeat(43)), value()),
          redirect_uri: fc.oneof(fc.constant(callback), value()),
          refresh_token: fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 43, maxLength: 43 }), value()),
          scope: value(),
          resource: value(),
          subject_token: value(),
        },
        { requiredKeys: ['grant_type', 'client_id', 'code', 'code_verifier', 'redirect_uri', 'refresh_token'] },
      )
      .map((record) => new URLSearchParams(record as Record<string, string>).toString())
      .filter(withoutNul);
  }

  function authorizationHeader(): fc.Arbitrary<string | undefined> {
    const clientIds = fc.oneof(fc.constantFrom('svc', 'svc-post', 'svc-jwt', 'web', 'spa', 'apia', adminClientId), text(16));
    return fc.oneof(
      fc.constant(undefined),
      // A real or random client id with a secret that is never the real one.
      fc.tuple(clientIds, text(60)).filter(([, secret]) => !Object.values(f.secrets).includes(secret) && secret !== adminClientSecret).map(([id, secret]) => basicAuth(id, secret)),
      text(80).map((raw) => `Basic ${Buffer.from(raw).toString('base64')}`),
      headerText(200).map((raw) => `Bearer ${raw}`),
      headerText(200),
    );
  }

  const contentTypes = fc.constantFrom(
    'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'application/x-www-form-urlencoded; charset=iso-8859-1',
    'application/json', 'text/plain', 'multipart/form-data; boundary=x', '', 'x/y; a="', 'APPLICATION/X-WWW-FORM-URLENCODED',
  );

  function queryString(): fc.Arbitrary<string> {
    const name = fc.oneof(fc.constantFrom(...tokenParameters, 'limit', 'after', 'type', 'sub', 'since', 'until'), text(10));
    return fc.array(fc.tuple(name, value()), { maxLength: 6 }).map((entries) => (entries.length ? `?${new URLSearchParams(entries).toString()}` : ''));
  }

  describe('token leakage (RFC 9700 §4.2, §4.3; RFC 6750 §5.3)', () => {
    const secrets: string[] = [];
    let user: BrowserlessUser;
    let authorizationRedirect: URL;

    before(async () => {
      // A failed and a good login, the code flow, a refresh, userinfo, introspection, revocation,
      // client credentials with every secret method, private_key_jwt, token exchange and admin calls.
      secrets.push(password, adminClientSecret, ...Object.values(f.secrets));
      user = new BrowserlessUser(callback);
      const wrongPassword = `wrong-${crypto.randomUUID()}`;
      secrets.push(wrongPassword);
      const page = await user.open(f.authorizationUrl());
      const failed = await user.submit(page, `/interaction/${interactionUid(page.url)}/login`, { username, password: wrongPassword });
      assert.match(failed.body, /Invalid username or password\./);
      const signedIn = await f.signIn({ scope: 'openid profile offline_access a.r', resource: apis.a }, { fresh: true });
      authorizationRedirect = signedIn.redirect;
      secrets.push(signedIn.code, signedIn.verifier, ...(signedIn.user.jar.header().match(/_session=([^;]+)/)?.slice(1) ?? []));
      const web = { basic: ['web', f.secrets.web!] as const };
      const issued = await f.token({ grant_type: 'authorization_code', code: signedIn.code, code_verifier: signedIn.verifier, redirect_uri: callback, resource: apis.a }, web);
      assert.equal(issued.status, 200, issued.text);
      const tokens = issued.json as Record<string, string>;
      secrets.push(tokens.access_token!, tokens.refresh_token!, tokens.id_token!);
      const refreshed = await f.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, web);
      assert.equal(refreshed.status, 200, refreshed.text);
      secrets.push(refreshed.json!.access_token as string, refreshed.json!.refresh_token as string);
      assert.equal((await send(`${f.url}/me`, { headers: { authorization: `Bearer ${refreshed.json!.access_token as string}` } })).status, 200);
      const exchanged = await f.token({ grant_type: exchangeGrant, subject_token: tokens.access_token!, subject_token_type: accessTokenType, resource: apis.b }, { basic: ['apia', f.secrets.apia!] });
      assert.equal(exchanged.status, 200, exchanged.text);
      secrets.push(exchanged.json!.access_token as string);
      const post = await f.token({ grant_type: 'client_credentials', resource: apis.main }, { post: ['svc-post', f.secrets['svc-post']!] });
      assert.equal(post.status, 200, post.text);
      secrets.push(post.json!.access_token as string);
      const assertion = await f.assertion();
      secrets.push(assertion);
      const viaJwt = await f.token({ grant_type: 'client_credentials', resource: apis.main }, { assertion });
      assert.equal(viaJwt.status, 200, viaJwt.text);
      secrets.push(viaJwt.json!.access_token as string);
      const introspected = await send(`${f.url}/token/introspection`, { method: 'POST', headers: { authorization: basicAuth('svc-post', f.secrets['svc-post']!) }, body: form({ token: post.json!.access_token as string }) });
      assert.equal(introspected.json?.active, true);
      assert.equal((await send(`${f.url}/token/revocation`, { method: 'POST', headers: { authorization: basicAuth('web', f.secrets.web!) }, body: form({ token: refreshed.json!.refresh_token as string }) })).status, 200);
      const adminToken = await f.adminToken();
      secrets.push(adminToken);
      const newUserPassword = `new-user-${crypto.randomUUID()}`;
      secrets.push(newUserPassword);
      await f.admin('POST', '/admin/users', { username: 'leak-check', password: newUserPassword });
      // Refused attempts carry secrets too.
      const wrongSecret = `wrong-secret-${crypto.randomUUID()}`;
      secrets.push(wrongSecret, Buffer.from(`svc:${wrongSecret}`).toString('base64'));
      assert.equal((await f.token({ grant_type: 'client_credentials' }, { basic: ['svc', wrongSecret] })).status, 401);
      const forgedBearer = `${handBuiltJwt({ alg: 'none' }, { sub: 'x', secret: crypto.randomUUID() })}`;
      secrets.push(forgedBearer);
      assert.equal((await send(`${f.url}/me`, { headers: { authorization: `Bearer ${forgedBearer}` } })).status, 401);
      assert.equal((await send(`${f.url}/admin/clients`, { headers: { authorization: `Bearer ${forgedBearer}` } })).status, 401);
    });

    it('RFC 9700 §4.3 / RFC 6749 §4.1.2 — the authorization response URL carries only code, state and iss: never a token', () => {
      assert.deepEqual([...authorizationRedirect.searchParams.keys()].sort(), ['code', 'iss', 'state']);
      assert.equal(authorizationRedirect.hash, '');
    });

    it('CWE-532 / RFC 6750 §5.3 — no password, client secret, code, verifier, token, assertion or session cookie in any log line (trace level)', () => {
      assert.ok(logLines.length > 20, `the server logged at trace level (${logLines.length} lines)`);
      const all = logLines.join('');
      for (const secret of secrets) {
        assert.ok(secret.length >= 8, 'a real secret');
        assert.ok(!all.includes(secret), `a log line contains ${secret.slice(0, 10)}…`);
      }
      const requests = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'request');
      assert.ok(requests.some((entry) => entry.path === '/token'), 'token requests are logged');
      assert.ok(requests.some((entry) => entry.path === '/auth'), 'authorization requests are logged');
      for (const entry of requests) assert.ok(!String(entry.path).includes('?'), `no query string in the access log: ${String(entry.path)}`);
    });

    it('CWE-209 — error answers never echo a presented secret or token (body or headers)', async () => {
      const wrongSecret = `echo-me-${crypto.randomUUID()}`;
      const forged = handBuiltJwt({ alg: 'none' }, { sub: `echo-${crypto.randomUUID()}` });
      const answers = [
        await f.token({ grant_type: 'client_credentials' }, { basic: ['svc', wrongSecret] }),
        await f.token({ grant_type: 'client_credentials', client_id: 'svc-post', client_secret: wrongSecret }),
        await send(`${f.url}/me`, { headers: { authorization: `Bearer ${forged}` } }),
        await send(`${f.url}/admin/users`, { headers: { authorization: `Bearer ${forged}` } }),
        await send(`${f.url}/token/introspection`, { method: 'POST', headers: { authorization: basicAuth('svc', wrongSecret) }, body: form({ token: forged }) }),
      ];
      for (const answer of answers) {
        assert.ok(answer.status >= 400 && answer.status < 500);
        const everything = `${answer.text} ${[...answer.headers].map(([name, headerValue]) => `${name}: ${headerValue}`).join(' ')}`;
        assert.ok(!everything.includes(wrongSecret), 'the wrong secret is not echoed');
        assert.ok(!everything.includes(forged), 'the presented token is not echoed');
      }
    });

    it('CWE-532 — the audit trail holds no token, secret, password or assertion', async () => {
      const events = await f.admin('GET', '/admin/events?limit=200');
      const text = JSON.stringify(events);
      assert.ok((events.items as unknown[]).length > 0, 'events were recorded');
      for (const secret of secrets) assert.ok(!text.includes(secret), `the audit trail contains ${secret.slice(0, 10)}…`);
    });

    it('RFC 9700 §4.2.4 — the login page and the redirect carrying the code are sent with Referrer-Policy: no-referrer', async () => {
      const fresh = new BrowserlessUser(callback);
      const first = await send(f.authorizationUrl(), {});
      assert.equal(first.headers.get('referrer-policy'), 'no-referrer');
      const page = await fresh.open(f.authorizationUrl());
      const login = await send(page.url, { headers: { cookie: fresh.jar.header() } });
      assert.equal(login.headers.get('referrer-policy'), 'no-referrer');
      const { user: signedIn } = await f.signIn();
      const final = await send(f.authorizationUrl({ prompt: 'none', scope: 'openid' }), { headers: { cookie: signedIn.jar.header() } });
      assert.ok(final.location?.startsWith(callback) && final.location.includes('code='), `a code redirect: ${final.location}`);
      assert.equal(final.headers.get('referrer-policy'), 'no-referrer');
    });
  });

  describe('HSTS behind a TLS-terminating proxy', () => {
    it('RFC 6797 §7.1 / RFC 9700 §4.13 — https requests through the trusted proxy get Strict-Transport-Security; plain http does not', async () => {
      const viaTls = { 'x-forwarded-proto': 'https' };
      const adminToken = await f.adminToken();
      for (const [label, answer] of [
        ['discovery', await send(`${f.url}/.well-known/openid-configuration`, { headers: viaTls })],
        ['token', await f.token({ grant_type: 'client_credentials', resource: apis.main }, { headers: { ...viaTls, authorization: basicAuth('svc', f.secrets.svc!) } })],
        ['admin', await send(`${f.url}/admin/keys`, { headers: { ...viaTls, authorization: `Bearer ${adminToken}` } })],
        ['authorization', await send(f.authorizationUrl(), { headers: viaTls })],
      ] as const) {
        assert.ok(answer.status < 500, label);
        assert.match(answer.headers.get('strict-transport-security') ?? '', /max-age=\d{7,}/, `${label} over https`);
      }
      const plain = await send(`${f.url}/.well-known/openid-configuration`);
      assert.equal(plain.headers.get('strict-transport-security'), null, 'RFC 6797 §7.2: never over plain http');
    });
  });

  describe('fuzzing (fast-check): never a 5xx, never a token', () => {
    const errorsSeen = new Set<string>();

    it('RFC 6749 §5.2 (fuzz) — the token endpoint with random form bodies, content types and Authorization headers', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            { weight: 3, arbitrary: fc.tuple(formBody(), contentTypes, authorizationHeader()) },
            { weight: 1, arbitrary: fc.tuple(nearValidBody(), fc.constant('application/x-www-form-urlencoded'), fc.constant(undefined)) },
          ),
          async ([body, contentType, authorization]) => {
          const headers: Record<string, string> = { 'content-type': contentType };
          if (authorization !== undefined) headers.authorization = authorization;
          const answer = await send(`${f.url}/token`, { method: 'POST', headers, body });
          assertHarmless(answer, `POST /token ${JSON.stringify({ body: body.slice(0, 200), contentType, authorization })}`);
          if (typeof answer.json?.error === 'string') errorsSeen.add(answer.json.error);
          },
        ),
        { numRuns: 400, interruptAfterTimeLimit: 30_000 },
      );
      // The inputs reached client authentication and the grants themselves, not just the body parser.
      for (const error of ['invalid_request', 'invalid_client']) assert.ok(errorsSeen.has(error), `saw ${error}: ${[...errorsSeen].join(', ')}`);
      const grantErrors = ['unsupported_grant_type', 'invalid_grant', 'unauthorized_client', 'invalid_scope', 'invalid_target'].filter((error) => errorsSeen.has(error));
      assert.ok(grantErrors.length >= 2, `grant-level errors were reached: ${[...errorsSeen].join(', ')}`);
    });

    it('RFC 6749 §5.2, RFC 7662, RFC 7009 (fuzz) — the token, introspection and revocation endpoints with random methods, query strings and raw bodies', async () => {
      const paths = fc.constantFrom('/token', '/token/introspection', '/token/revocation', '/token/', '/TOKEN', '/token/%2e%2e/admin');
      const methods = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
      await fc.assert(
        fc.asyncProperty(paths, methods, queryString(), fc.oneof(text(400), longText), contentTypes, authorizationHeader(), async (route, method, query, body, contentType, authorization) => {
          const headers: Record<string, string> = { 'content-type': contentType };
          if (authorization !== undefined) headers.authorization = authorization;
          const withBody = method !== 'GET' && method !== 'OPTIONS';
          const answer = await send(`${f.url}${route}${query}`, { method, headers, ...(withBody ? { body } : {}) });
          assertHarmless(answer, `${method} ${route}${query.slice(0, 200)}`);
          assert.notEqual(answer.json?.active, true, 'introspection never says active to a fuzzer');
        }),
        { numRuns: 300, interruptAfterTimeLimit: 30_000 },
      );
    });

    it('RFC 6750 §3.1 (fuzz) — the admin API without a valid token: random methods, paths, queries, headers and bodies are all 4xx', async () => {
      const now = nowSeconds();
      const forgedAdmin = handBuiltJwt({ alg: 'none', typ: 'at+jwt' }, { iss: f.issuer, aud: `${f.issuer}/admin`, sub: adminClientId, client_id: adminClientId, scope: 'admin', iat: now, exp: now + 600, jti: 'fuzz' });
      const segment = fc.oneof(
        fc.constantFrom('clients', 'users', 'resources', 'keys', 'revocations', 'events', 'secret', 'rotate', '..', '.', '%2e%2e', 'svc', adminClientId, encodeURIComponent(apis.main)),
        text(24).map(encodeURIComponent),
      );
      const route = fc.array(segment, { minLength: 0, maxLength: 4 }).map((parts) => `/admin/${parts.join('/')}`);
      const authorization = fc.oneof(
        fc.constant(undefined),
        fc.constant(`Bearer ${forgedAdmin}`),
        fc.constant(basicAuth(adminClientId, adminClientSecret)),
        headerText(200).map((raw) => `Bearer ${raw}`),
        headerText(120),
      );
      const methods = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
      const unauthenticated = new Set<number>();
      const body = fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((json) => JSON.stringify(json)), text(300));
      await fc.assert(
        fc.asyncProperty(methods, route, queryString(), authorization, contentTypes, body, async (method, path, query, auth, contentType, payload) => {
          if (!withoutNul(payload) || /\\u(0000|d[89a-f])/i.test(payload)) return;
          const headers: Record<string, string> = { 'content-type': contentType };
          if (auth !== undefined) headers.authorization = auth;
          const withBody = !['GET', 'HEAD', 'OPTIONS'].includes(method);
          const url = `${f.url}${path}${query}`;
          const answer = await send(url, { method, headers, ...(withBody ? { body: payload } : {}) });
          assertHarmless(answer, `${method} ${path}${query.slice(0, 120)}`);
          // The client resolves dot segments (`..`, `%2e%2e`) before sending (WHATWG URL), so
          // /admin/%2e%2e/revocations reaches /revocations: no longer the admin API.
          if (!new URL(url).pathname.startsWith('/admin')) return;
          assert.ok(answer.status >= 400, `${method} ${path}: ${answer.status} without a valid token`);
          unauthenticated.add(answer.status);
          assert.equal(answer.json?.items, undefined);
          assert.ok(!answer.text.includes('client_secret'), 'no secret');
        }),
        { numRuns: 400, interruptAfterTimeLimit: 30_000 },
      );
      assert.ok(unauthenticated.has(401), `401 was answered: ${[...unauthenticated].join(', ')}`);
    });

    it('RFC 7591 §3.2.2 (fuzz) — the admin API with a valid token: random JSON bodies and queries for every write and list route', async () => {
      const adminToken = await f.adminToken();
      const fields = fc.constantFrom(
        'client_id', 'client_name', 'redirect_uris', 'post_logout_redirect_uris', 'grant_types', 'response_types', 'token_endpoint_auth_method', 'jwks', 'jwks_uri',
        'scope', 'application_type', 'first_party', 'default_max_age', 'username', 'password', 'email', 'email_verified', 'name', 'disabled',
        'identifier', 'scopes', 'access_token_ttl', 'access_token_format', 'jti', 'sub', 'grant_id',
      );
      const jsonField = fc.oneof(
        { weight: 3, arbitrary: text(40) },
        { weight: 3, arbitrary: realisticValue() },
        { weight: 2, arbitrary: fc.array(fc.oneof(text(40), realisticValue(), fc.constantFrom('https://app.example.test/cb', 'http://127.0.0.1/cb', 'javascript:alert(1)'))) },
        { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom(1e308, -1, 2 ** 53, 0)) },
        { weight: 1, arbitrary: fc.dictionary(text(8), fc.oneof(text(20), fc.integer(), fc.array(fc.dictionary(text(4), text(8)), { maxLength: 2 })), { maxKeys: 3 }) },
      );
      const objectBody = fc.dictionary(fc.oneof({ weight: 4, arbitrary: fields }, { weight: 1, arbitrary: text(12) }), jsonField, { maxKeys: 8 }).map((object) => JSON.stringify(object));
      const rawBody = fc.oneof(text(200), fc.constantFrom('{', '[]', 'null', '"x"', '{"a":', '1e999', '{"scope": [}'));
      const body = fc.oneof({ weight: 5, arbitrary: objectBody }, { weight: 1, arbitrary: rawBody });
      const id = fc.oneof(text(30), fc.constantFrom('fuzz-client', 'https%3A%2F%2Ffuzz.example.test', '..%2F..', crypto.randomUUID())).map((raw) => encodeURIComponent(raw));
      const writes = fc.oneof(
        fc.constant(['POST', '/admin/clients'] as const),
        fc.constant(['POST', '/admin/users'] as const),
        fc.constant(['POST', '/admin/resources'] as const),
        fc.constant(['POST', '/admin/revocations'] as const),
        id.map((value) => ['PUT', `/admin/clients/${value}`] as const),
        id.map((value) => ['PUT', `/admin/users/${value}`] as const),
        id.map((value) => ['PUT', `/admin/resources/${value}`] as const),
        id.map((value) => ['POST', `/admin/clients/${value}/secret`] as const),
      );
      const reads = fc.constantFrom('/admin/clients', '/admin/users', '/admin/resources', '/admin/events', '/admin/keys');
      const request = fc.oneof(
        { weight: 3, arbitrary: fc.tuple(writes, body).map(([[method, path], payload]) => ({ method, path, payload })) },
        { weight: 1, arbitrary: fc.tuple(reads, queryString()).map(([path, query]) => ({ method: 'GET', path: `${path}${query}`, payload: undefined })) },
      );
      const statuses = new Set<number>();
      await fc.assert(
        fc.asyncProperty(request, async ({ method, path, payload }) => {
          if (payload !== undefined && (!withoutNul(payload) || /\\u(0000|d[89a-f])/i.test(payload))) return;
          const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` };
          if (payload !== undefined) headers['content-type'] = 'application/json';
          const answer = await send(`${f.url}${path}`, { method, headers, ...(payload === undefined ? {} : { body: payload }) });
          assertHarmless(answer, `${method} ${path.slice(0, 160)} ${payload?.slice(0, 300) ?? ''}`);
          assert.notEqual(answer.status, 401, 'the admin token stays valid (the fuzzer revoked nothing of ours)');
          statuses.add(answer.status);
        }),
        { numRuns: 400, interruptAfterTimeLimit: 30_000 },
      );
      // Validation, lookups and successful calls were all reached.
      for (const status of [200, 400, 404]) assert.ok(statuses.has(status), `saw ${status}: ${[...statuses].join(', ')}`);
      assert.equal((await send(`${f.url}/admin/keys`, { headers: { authorization: `Bearer ${adminToken}` } })).status, 200, 'the admin API still works');
    });

    it('CWE-400 / CWE-532 — after the fuzzing the server still issues tokens and has logged no secret of the fixture', async () => {
      const answer = await f.token({ grant_type: 'client_credentials', resource: apis.main }, { basic: ['svc', f.secrets.svc!] });
      assert.equal(answer.status, 200, answer.text);
      const all = logLines.join('');
      for (const secret of [adminClientSecret, ...Object.values(f.secrets), answer.json!.access_token as string]) assert.ok(!all.includes(secret));
    });
  });
});
