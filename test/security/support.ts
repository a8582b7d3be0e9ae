// Shared set-up for the adversarial suite (test/security): one server per file with a realistic
// population — three APIs, web / SPA / native apps, services with every client authentication
// method, two token-exchange services and a user — and the small HTTP and JOSE helpers an
// attacker needs. Every helper answers with the raw status, headers and body so a test can
// assert exactly what came back.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CompactSign, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { adminRequest, basicAuth, createUser, getAdminToken } from '../helpers/admin.js';
import { BrowserlessUser } from '../helpers/http-login.js';
import { createTestEnvironment, type TestEnvironment, type TestServer } from '../helpers/server.js';

export { basicAuth };

export const callback = 'https://app.example.test/callback';
export const otherCallback = 'https://other.example.test/callback';
export const loggedOut = 'https://app.example.test/logged-out';
export const otherLoggedOut = 'https://other.example.test/logged-out';
export const nativeCallback = 'http://127.0.0.1/callback';
export const username = 'alice';
export const password = 'correct horse battery staple';
export const apis = {
  main: 'https://api.security.test',
  a: 'https://a.security.test',
  b: 'https://b.security.test',
} as const;
export const exchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';
export const jwtTokenType = 'urn:ietf:params:oauth:token-type:jwt';
export const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when it is a JSON object, else undefined. */
  json: Record<string, unknown> | undefined;
  /** The Location header, resolved against the request URL. */
  location: string | undefined;
}

/** One request, redirects not followed, the whole answer read. */
export async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    json = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  const location = response.headers.get('location');
  return { status: response.status, headers: response.headers, text, json, location: location ? new URL(location, url).href : undefined };
}

/** A form body; an array value sends the parameter once per item. */
export function form(params: Record<string, string | readonly string[] | undefined>): URLSearchParams {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    for (const item of typeof value === 'string' ? [value] : value) body.append(name, item);
  }
  return body;
}

const tokenFields = ['access_token', 'refresh_token', 'id_token', 'issued_token_type'];

/** Nothing in the answer is a token: no token member, no token in a redirect. */
export function assertNoToken(answer: Answer): void {
  for (const field of tokenFields) {
    assert.equal(answer.json?.[field], undefined, `no ${field} in: ${answer.text.slice(0, 300)}`);
    assert.ok(!new RegExp(`"${field}"\\s*:`).test(answer.text), `no ${field} member anywhere in: ${answer.text.slice(0, 300)}`);
  }
  if (answer.location) {
    assert.doesNotMatch(answer.location, /[?#&](access_token|id_token|refresh_token)=/, `no token in ${answer.location}`);
  }
}

/** A refusal: one of the statuses, one of the OAuth error codes (when given), never a token, never a 5xx. */
export function assertRefused(answer: Answer, statuses: number | readonly number[], errors?: string | readonly string[]): void {
  const allowed = typeof statuses === 'number' ? [statuses] : statuses;
  assert.ok(answer.status < 500, `not a server error: ${answer.status} ${answer.text.slice(0, 300)}`);
  assert.ok(allowed.includes(answer.status), `status ${answer.status}, expected ${allowed.join(' or ')}: ${answer.text.slice(0, 300)}`);
  if (errors !== undefined) {
    const codes = typeof errors === 'string' ? [errors] : errors;
    assert.ok(codes.includes(String(answer.json?.error)), `error ${String(answer.json?.error)}, expected ${codes.join(' or ')}: ${answer.text.slice(0, 300)}`);
  }
  assertNoToken(answer);
}

/** The Location starts with `prefix`; returns it parsed (a fragment is read like a query). */
export function redirectedTo(location: string | undefined, prefix: string, context = ''): URL {
  assert.ok(location !== undefined && location.startsWith(prefix), `a redirect to ${prefix}, got ${location ?? 'none'} ${context}`);
  return new URL(location.replace('#', '?'));
}

/** The answer is an HTML error page of ours, not a redirect anywhere. */
export function assertErrorPage(answer: Answer): void {
  assert.ok(answer.status >= 400 && answer.status < 500, `a 4xx error page, got ${answer.status}: ${answer.text.slice(0, 200)}`);
  assert.equal(answer.location, undefined, `no redirect, got Location ${answer.location}`);
  assert.match(answer.headers.get('content-type') ?? '', /text\/html/);
}

/** Clickjacking defences (RFC 7034 X-Frame-Options, CSP frame-ancestors) and no caching of a page. */
export function assertUnframeable(answer: Answer): void {
  assert.equal(answer.headers.get('x-frame-options'), 'DENY');
  assert.match(answer.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.match(answer.headers.get('cache-control') ?? '', /no-store/);
}

// ---------------------------------------------------------------------------------------------
// JOSE

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** A JWS put together by hand (for headers and algorithms no library would produce). */
export function handBuiltJwt(header: Record<string, unknown>, claims: Record<string, unknown>, signature = ''): string {
  return `${b64url(header)}.${b64url(claims)}.${signature}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export interface SigningKey {
  alg: 'ES256' | 'RS256';
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function createSigningKey(alg: 'ES256' | 'RS256' = 'ES256', kid = `${alg.toLowerCase()}-${crypto.randomUUID()}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** Signs claims with a key; header members are merged over { alg, kid }. */
export async function signJwt(
  key: { alg: string; kid?: string; privateKey: CryptoKey | Uint8Array },
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
  crit: Record<string, boolean> = {},
): Promise<string> {
  const protectedHeader = Object.fromEntries(
    Object.entries({ alg: key.alg, ...(key.kid ? { kid: key.kid } : {}), ...header }).filter(([, value]) => value !== undefined),
  );
  return new CompactSign(encoder.encode(JSON.stringify(claims)))
    .setProtectedHeader(protectedHeader as { alg: string })
    .sign(key.privateKey, { crit });
}

/** HS256 keyed with some bytes: the algorithm-confusion forgery (RFC 8725 §2.1). */
export function hmacJwt(secret: string | Uint8Array, header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
  return signJwt({ alg: 'HS256', privateKey: typeof secret === 'string' ? encoder.encode(secret) : secret }, claims, header);
}

export interface ServerKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** The public key as PEM (SPKI), what an alg-confusion attacker would use as an HMAC secret. */
  publicPem: string;
}

/**
 * The server's signing keys read from KEYS_DIR: to forge tokens that are perfect except for the
 * one property under test (a resource server could never do this).
 */
export async function serverSigningKeys(server: TestServer): Promise<Record<'ES256' | 'RS256', ServerKey>> {
  const text = await fs.readFile(path.join(server.config.keysDir, 'signing-keys.json'), 'utf8');
  const keys = (JSON.parse(text) as { keys: (JWK & { kid: string; alg: string })[] }).keys;
  const result: Partial<Record<'ES256' | 'RS256', ServerKey>> = {};
  for (const alg of ['ES256', 'RS256'] as const) {
    const jwk = keys.find((key) => key.alg === alg);
    assert.ok(jwk, `the server has an ${alg} key`);
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
    const publicPem = crypto.createPublicKey({ key: publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    result[alg] = { kid: jwk.kid, alg, privateKey: (await importJWK(jwk, alg)) as CryptoKey, publicJwk, publicPem };
  }
  return result as Record<'ES256' | 'RS256', ServerKey>;
}

// ---------------------------------------------------------------------------------------------
// An attacker's HTTP server (jku / x5u / request_uri / jwks_uri targets): counts every request.

export interface CountingServer {
  readonly url: string;
  readonly hits: number;
  close(): Promise<void>;
}

export async function startCountingServer(body = '{"keys":[]}'): Promise<CountingServer> {
  let hits = 0;
  const server = http.createServer((_request, response) => {
    hits += 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get hits() {
      return hits;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// PKCE and the fixture

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

/** How a token-endpoint request authenticates the client. */
export type ClientAuth =
  | { basic: readonly [string, string] }
  | { post: readonly [string, string] }
  | { none: string }
  | { assertion: string }
  | { headers: Record<string, string> }
  | undefined;

export interface SignedIn {
  user: BrowserlessUser;
  redirect: URL;
  code: string;
  verifier: string;
}

export interface Fixture {
  readonly env: TestEnvironment;
  readonly server: TestServer;
  readonly url: string;
  readonly issuer: string;
  /** Client secrets by client_id, for the clients that have one. */
  readonly secrets: Readonly<Record<string, string>>;
  /** The registered ES256 key of the private_key_jwt client `svc-jwt`. */
  readonly jwtKey: SigningKey;
  readonly userSub: string;
  adminToken(): Promise<string>;
  admin(method: string, route: string, body?: unknown): Promise<Record<string, unknown>>;
  /** An authorization request URL: client `web`, S256 PKCE filled in unless given; undefined drops a parameter. */
  authorizationUrl(params?: Record<string, string | undefined>): string;
  /**
   * The browser part of the code flow as `alice`, stopping at the redirect URI. By default it
   * reuses one signed-in browser per redirect URI (no password check each time); `fresh` starts
   * a new browser that logs in.
   */
  signIn(params?: Record<string, string | undefined>, options?: { fresh?: boolean }): Promise<SignedIn>;
  /** POST /token with the given parameters and client authentication. */
  token(params: Record<string, string | readonly string[] | undefined>, auth?: ClientAuth): Promise<Answer>;
  /** Signs in and redeems the code: every token of a code flow (fails the test otherwise). */
  codeFlowTokens(clientId?: string, params?: Record<string, string | undefined>, options?: { fresh?: boolean }): Promise<Record<string, string>>;
  /** A good private_key_jwt assertion for `svc-jwt`, with claims and header members overridden. */
  assertion(claims?: Record<string, unknown>, header?: Record<string, unknown>, key?: SigningKey): Promise<string>;
  cleanup(): Promise<void>;
}

export function clientAuthentication(auth: ClientAuth, body: URLSearchParams): Record<string, string> {
  if (!auth) return {};
  if ('basic' in auth) return { authorization: basicAuth(auth.basic[0], auth.basic[1]) };
  if ('post' in auth) {
    body.set('client_id', auth.post[0]);
    body.set('client_secret', auth.post[1]);
  } else if ('none' in auth) {
    body.set('client_id', auth.none);
  } else if ('assertion' in auth) {
    body.set('client_assertion_type', assertionType);
    body.set('client_assertion', auth.assertion);
  } else {
    return auth.headers;
  }
  return {};
}

const secretClients = ['web', 'web-post', 'other', 'consent-app', 'svc', 'svc-post', 'apia', 'apib'];

/**
 * Request-rate limits lifted for this suite: it measures how each input is handled, and a burst
 * of a few hundred admin or token requests a second would otherwise be answered 429 before the
 * input is looked at. (Throttling has its own tests; unknown variables are ignored by older
 * configurations.) Login throttling stays on: no test here fails more than a few logins.
 */
export const generousRateLimits: Readonly<Record<string, string>> = {
  ADMIN_REQUESTS_PER_IP: '0',
  TOKEN_REQUESTS_PER_IP: '0',
  TOKEN_REQUESTS_PER_CLIENT: '0',
};

export async function startFixture(extraEnv: Record<string, string> = {}): Promise<Fixture> {
  const env = await createTestEnvironment();
  try {
    const server = await env.start({ ...generousRateLimits, ...extraEnv });
    return await populateFixture(env, server);
  } catch (error) {
    await env.cleanup();
    throw error;
  }
}

/** Registers the fixture's APIs, clients and user on a running server of `env`. */
export async function populateFixture(env: TestEnvironment, server: TestServer): Promise<Fixture> {
  const url = server.url;
  const adminToken = () => getAdminToken(url);
  const bootstrapToken = await adminToken();
  const admin = (method: string, route: string, body?: unknown) => adminRequest(url, bootstrapToken, method, route, body);

  await admin('POST', '/admin/resources', { identifier: apis.main, name: 'Main API', scopes: ['api.read', 'api.write'] });
  await admin('POST', '/admin/resources', { identifier: apis.a, scopes: ['a.r'] });
  await admin('POST', '/admin/resources', { identifier: apis.b, scopes: ['b.r', 'b.w'] });

  const jwtKey = await createSigningKey('ES256');
  const code = ['authorization_code', 'refresh_token'];
  const clients: Record<string, unknown>[] = [
    { client_id: 'web', grant_types: code, redirect_uris: [callback], post_logout_redirect_uris: [loggedOut], scope: 'openid profile email offline_access api.read a.r', first_party: true },
    { client_id: 'web-post', grant_types: code, redirect_uris: [callback], token_endpoint_auth_method: 'client_secret_post', scope: 'openid offline_access', first_party: true },
    { client_id: 'other', grant_types: code, redirect_uris: [otherCallback, callback], post_logout_redirect_uris: [otherLoggedOut], scope: 'openid offline_access', first_party: true },
    { client_id: 'consent-app', client_name: '<script>alert("client_name")</script>', grant_types: ['authorization_code'], redirect_uris: [callback], scope: 'openid profile' },
    { client_id: 'spa', grant_types: code, redirect_uris: [callback], token_endpoint_auth_method: 'none', scope: 'openid offline_access', first_party: true },
    { client_id: 'spa2', grant_types: code, redirect_uris: [callback], token_endpoint_auth_method: 'none', scope: 'openid offline_access', first_party: true },
    { client_id: 'native', application_type: 'native', grant_types: ['authorization_code'], redirect_uris: [nativeCallback], token_endpoint_auth_method: 'none', scope: 'openid', first_party: true },
    { client_id: 'svc', grant_types: ['client_credentials'], scope: 'api.read' },
    { client_id: 'svc-post', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post', scope: 'api.read' },
    { client_id: 'svc-jwt', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwtKey.publicJwk] }, scope: 'api.read' },
    { client_id: 'apia', grant_types: ['client_credentials', exchangeGrant], scope: 'b.r' },
    { client_id: 'apib', grant_types: ['client_credentials', exchangeGrant], scope: 'api.read' },
  ];
  const secrets: Record<string, string> = {};
  for (const metadata of clients) {
    const created = await admin('POST', '/admin/clients', metadata);
    if (secretClients.includes(metadata.client_id as string)) secrets[metadata.client_id as string] = created.client_secret as string;
  }
  // Each token-exchange service acts for its API: it may trade tokens addressed to it.
  await admin('PUT', `/admin/resources/${encodeURIComponent(apis.a)}`, { scopes: ['a.r'], client_id: 'apia' });
  await admin('PUT', `/admin/resources/${encodeURIComponent(apis.b)}`, { scopes: ['b.r', 'b.w'], client_id: 'apib' });
  const userSub = await createUser(url, bootstrapToken, { username, password, email: 'alice@example.test', email_verified: true, name: 'Alice' });

  function authorizationUrl(params: Record<string, string | undefined> = {}): string {
    const target = new URL(`${url}/auth`);
    const defaults: Record<string, string> = {
      client_id: 'web',
      response_type: 'code',
      redirect_uri: callback,
      scope: 'openid offline_access',
      prompt: 'consent',
      state: crypto.randomBytes(8).toString('hex'),
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    };
    for (const [name, value] of Object.entries({ ...defaults, ...params })) {
      if (value !== undefined) target.searchParams.set(name, value);
    }
    return target.href;
  }

  const browsers = new Map<string, BrowserlessUser>();

  async function signIn(params: Record<string, string | undefined> = {}, options: { fresh?: boolean } = {}): Promise<SignedIn> {
    const { verifier, challenge } = pkcePair();
    const stopAt = params.redirect_uri ?? callback;
    let user = options.fresh ? undefined : browsers.get(stopAt);
    if (!user) {
      user = new BrowserlessUser(stopAt);
      if (!options.fresh) browsers.set(stopAt, user);
    }
    const redirect = await user.authorize(authorizationUrl({ code_challenge: challenge, ...params }), username, password);
    const issued = redirect.searchParams.get('code');
    assert.ok(issued, `a code in ${redirect.href}`);
    return { user, redirect, code: issued, verifier };
  }

  async function token(params: Record<string, string | readonly string[] | undefined>, auth?: ClientAuth): Promise<Answer> {
    const body = form(params);
    const headers = { 'content-type': 'application/x-www-form-urlencoded', ...clientAuthentication(auth, body) };
    return send(`${url}/token`, { method: 'POST', headers, body: body.toString() });
  }

  function authFor(clientId: string): ClientAuth {
    if (clientId === 'web-post') return { post: [clientId, secrets[clientId]!] };
    return secrets[clientId] ? { basic: [clientId, secrets[clientId]] } : { none: clientId };
  }

  async function codeFlowTokens(clientId = 'web', params: Record<string, string | undefined> = {}, options: { fresh?: boolean } = {}): Promise<Record<string, string>> {
    const signedIn = await signIn({ client_id: clientId, ...params }, options);
    const answer = await token(
      { grant_type: 'authorization_code', code: signedIn.code, code_verifier: signedIn.verifier, redirect_uri: params.redirect_uri ?? callback, resource: params.resource },
      authFor(clientId),
    );
    assert.equal(answer.status, 200, `code redemption: ${answer.text}`);
    return answer.json as Record<string, string>;
  }

  function assertion(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key = jwtKey): Promise<string> {
    const now = nowSeconds();
    const merged = Object.fromEntries(
      Object.entries({ iss: 'svc-jwt', sub: 'svc-jwt', aud: server.issuer, iat: now, exp: now + 60, jti: crypto.randomUUID(), ...claims }).filter(
        ([, value]) => value !== undefined,
      ),
    );
    return signJwt(key, merged, header);
  }

  return {
    env,
    server,
    url,
    issuer: server.issuer,
    secrets,
    jwtKey,
    userSub,
    adminToken,
    admin,
    authorizationUrl,
    signIn,
    token,
    codeFlowTokens,
    assertion,
    cleanup: () => env.cleanup(),
  };
}

/** The interaction uid in a login or consent page URL. */
export function interactionUid(pageUrl: string): string {
  const uid = /\/interaction\/([^/?#]+)/.exec(pageUrl)?.[1];
  assert.ok(uid, `an interaction URL: ${pageUrl}`);
  return uid;
}

/** The CSRF token of a login or consent form. */
export function csrfField(html: string): string {
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(csrf, 'a CSRF field on the page');
  return csrf;
}
