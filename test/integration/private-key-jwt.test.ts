// private_key_jwt client authentication (RFC 7523 §3, RFC 7521 §5.2, OIDC Core §9) at the token
// endpoint, end to end: services registered over the admin API with inline `jwks` or a `jwks_uri`
// served by a small HTTP server in this test fetch client_credentials tokens with signed
// assertions, and every assertion that is expired, too long-lived, replayed, addressed to another
// audience, signed by the wrong key or carrying a key reference in its header is refused with
// 401 invalid_client (src/oidc/config/client-assertions.ts, src/oidc/internals.ts).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompactSign, createRemoteJWKSet, exportJWK, exportSPKI, generateKeyPair, jwtVerify, type CryptoKey, type JWK } from 'jose';
import * as oidc from 'openid-client';
import { adminRequest, getAdminToken } from '../helpers/admin.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth, readResponse, ResponseLog, type JsonResponse } from '../helpers/http-support.js';

const api = 'https://svc.api.test';
const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** JWKS_URI_MIN_REFETCH_INTERVAL of the main server, in seconds. */
const refetchInterval = 1;
/** A little over the refetch interval. The server counts it in whole seconds of Date.now(). */
const refetchWaitMs = refetchInterval * 1000 + 150;

type SigningAlg = 'ES256' | 'RS256' | 'PS256';

interface SigningKey {
  alg: SigningAlg;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as registered: with kid, alg and use. */
  publicJwk: JWK;
}

interface AssertionOptions {
  /** Claims merged over the good defaults; a claim set to undefined is left out. */
  claims?: Record<string, unknown>;
  /** Header parameters merged over { alg, kid }; undefined leaves one out. */
  header?: Record<string, unknown>;
}

const log = new ResponseLog();
const encoder = new TextEncoder();

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

async function createKey(alg: SigningAlg, kid: string = `${alg.toLowerCase()}-${crypto.randomUUID()}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { alg, kid, privateKey, publicKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

/** A client assertion, good by default: iss = sub = clientId, aud = audience, iat = now, exp = now + 60, random jti. */
async function signAssertion(clientId: string, audience: unknown, key: SigningKey, options: AssertionOptions = {}): Promise<string> {
  const now = nowSeconds();
  const claims = withoutUndefined({
    iss: clientId,
    sub: clientId,
    aud: audience,
    iat: now,
    exp: now + 60,
    jti: crypto.randomUUID(),
    ...options.claims,
  });
  const header = withoutUndefined({ alg: key.alg, kid: key.kid, ...options.header });
  return new CompactSign(encoder.encode(JSON.stringify(claims)))
    .setProtectedHeader(header as { alg: string })
    .sign(key.privateKey);
}

/** A JWS put together by hand, for headers no signing library would produce. */
function handBuilt(header: Record<string, unknown>, claims: Record<string, unknown>, signature: string): string {
  return `${b64(header)}.${b64(claims)}.${signature}`;
}

function goodClaims(clientId: string, audience: string): Record<string, unknown> {
  const now = nowSeconds();
  return { iss: clientId, sub: clientId, aud: audience, iat: now, exp: now + 60, jti: crypto.randomUUID() };
}

async function requestToken(server: TestServer, assertion: string, extra: Record<string, string> = {}): Promise<JsonResponse> {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    resource: api,
    client_assertion_type: assertionType,
    client_assertion: assertion,
    ...extra,
  });
  const response = await fetch(`${server.url}/token`, { method: 'POST', body });
  log.record('POST', '/token', response);
  return readResponse(response);
}

function assertRefused(answer: JsonResponse, status = 401, error = 'invalid_client'): void {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.json?.error, error, answer.text);
  assert.equal(answer.json?.access_token, undefined);
}

/** The answer is 200 with an RFC 9068 token for the API that verifies against the server's JWKS. */
async function assertIssued(server: TestServer, answer: JsonResponse, clientId: string, scope?: string): Promise<void> {
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.json?.token_type, 'Bearer');
  await assertAccessToken(server, answer.json?.access_token, clientId, scope);
}

/**
 * With `scope`, the token carries exactly that scope; without (the request named only the
 * resource), it carries nothing beyond what the client holds.
 */
async function assertAccessToken(server: TestServer, token: unknown, clientId: string, scope?: string): Promise<void> {
  assert.equal(typeof token, 'string');
  const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
  const { payload } = await jwtVerify(token as string, jwks, { issuer: server.issuer, audience: api, typ: 'at+jwt' });
  assert.equal(payload.aud, api);
  assert.equal(payload.client_id, clientId);
  assert.equal(payload.sub, clientId);
  if (scope !== undefined) assert.equal(payload.scope, scope);
  else assert.equal(payload.scope, 'svc.read', 'without a scope parameter the token carries every scope the client may have');
}

interface Discovery {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported?: string[];
}

async function discover(server: TestServer): Promise<Discovery> {
  const response = await fetch(`${server.url}/.well-known/openid-configuration`);
  log.record('GET', '/.well-known/openid-configuration', response);
  assert.equal(response.status, 200);
  return (await response.json()) as Discovery;
}

/** Registers the API and returns an admin token for further set-up. */
async function prepareServer(server: TestServer): Promise<string> {
  const adminToken = await getAdminToken(server.url);
  await adminRequest(server.url, adminToken, 'POST', '/admin/resources', { identifier: api, scopes: ['svc.read'] });
  return adminToken;
}

async function registerClient(server: TestServer, adminToken: string, clientId: string, keys: { jwks?: JWK[]; jwksUri?: string }): Promise<void> {
  const created = await adminRequest(server.url, adminToken, 'POST', '/admin/clients', {
    client_id: clientId,
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'private_key_jwt',
    scope: 'svc.read',
    ...(keys.jwks ? { jwks: { keys: keys.jwks } } : {}),
    ...(keys.jwksUri ? { jwks_uri: keys.jwksUri } : {}),
  });
  assert.equal(created.client_id, clientId);
  assert.equal(created.token_endpoint_auth_method, 'private_key_jwt');
  assert.equal(created.client_secret, undefined, 'a private_key_jwt client gets no secret');
}

interface JwksServer {
  readonly url: string;
  /** The keys served from now on. */
  keys: JWK[];
  /** How many requests the server has answered. */
  readonly fetches: number;
  /** When set, every request gets this answer instead of the key set. */
  answer: { status: number; body: string } | undefined;
  close(): Promise<void>;
}

/** A client's jwks_uri: a tiny HTTP server on 127.0.0.1 whose key set the test can change. */
async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state: { keys: JWK[]; fetches: number; answer: { status: number; body: string } | undefined } = { keys, fetches: 0, answer: undefined };
  const server = http.createServer((_request, response) => {
    state.fetches += 1;
    response.writeHead(state.answer?.status ?? 200, { 'content-type': 'application/json' });
    response.end(state.answer?.body ?? JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get keys() {
      return state.keys;
    },
    set keys(next: JWK[]) {
      state.keys = next;
    },
    get fetches() {
      return state.fetches;
    },
    get answer() {
      return state.answer;
    },
    set answer(next) {
      state.answer = next;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe(`private_key_jwt client authentication (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let adminToken: string;
  let discovery: Discovery;
  const keys = {} as Record<'es256' | 'rs256' | 'ps256' | 'other' | 'attackerEc' | 'attackerRsa', SigningKey>;
  const ids = { es256: 'svc-es256', rs256: 'svc-rs256', ps256: 'svc-ps256', other: 'svc-other' };

  /** A good assertion for the ES256 client (or `clientId` with `key`), modified by options. */
  function assertion(options: AssertionOptions = {}, clientId = ids.es256, key = keys.es256): Promise<string> {
    return signAssertion(clientId, server.issuer, key, options);
  }

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start({ JWKS_URI_ALLOW_PRIVATE: 'true', JWKS_URI_MIN_REFETCH_INTERVAL: String(refetchInterval) });
    adminToken = await prepareServer(server);
    discovery = await discover(server);
    keys.es256 = await createKey('ES256');
    keys.rs256 = await createKey('RS256');
    keys.ps256 = await createKey('PS256');
    keys.other = await createKey('ES256');
    // The attacker's keys are never registered.
    keys.attackerEc = await createKey('ES256');
    keys.attackerRsa = await createKey('RS256');
    await registerClient(server, adminToken, ids.es256, { jwks: [keys.es256.publicJwk] });
    await registerClient(server, adminToken, ids.rs256, { jwks: [keys.rs256.publicJwk] });
    await registerClient(server, adminToken, ids.ps256, { jwks: [keys.ps256.publicJwk] });
    await registerClient(server, adminToken, ids.other, { jwks: [keys.other.publicJwk] });
  });

  after(async () => {
    await env?.cleanup();
  });

  describe('discovery', () => {
    it('advertises private_key_jwt, the issuer and the token endpoint the assertions are about', () => {
      assert.equal(discovery.issuer, server.issuer);
      assert.equal(discovery.token_endpoint, `${server.issuer}/token`);
      assert.ok(discovery.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
      const algs = discovery.token_endpoint_auth_signing_alg_values_supported ?? [];
      for (const alg of ['ES256', 'RS256', 'PS256']) assert.ok(algs.includes(alg), `${alg} is advertised`);
      assert.ok(!algs.some((alg) => alg.startsWith('HS') || alg === 'none'), 'no HMAC and no none');
    });
  });

  describe('good assertions', () => {
    it('issues a token for the API to an ES256 assertion (iss = sub = client_id, aud = issuer)', async () => {
      await assertIssued(server, await requestToken(server, await assertion()), ids.es256);
    });

    it('grants the requested scope of the API', async () => {
      await assertIssued(server, await requestToken(server, await assertion(), { scope: 'svc.read' }), ids.es256, 'svc.read');
    });

    it('accepts the assertion with a matching client_id in the body too', async () => {
      await assertIssued(server, await requestToken(server, await assertion(), { client_id: ids.es256 }), ids.es256);
    });

    for (const name of ['rs256', 'ps256'] as const) {
      it(`issues a token to a ${name.toUpperCase()} client`, async () => {
        const answer = await requestToken(server, await assertion({}, ids[name], keys[name]));
        await assertIssued(server, answer, ids[name]);
      });
    }

    for (const name of ['es256', 'rs256', 'ps256'] as const) {
      it(`works with openid-client (discovery + PrivateKeyJwt + clientCredentialsGrant), ${name.toUpperCase()}`, async () => {
        const config = await oidc.discovery(
          new URL(server.issuer),
          ids[name],
          undefined,
          oidc.PrivateKeyJwt({ key: keys[name].privateKey, kid: keys[name].kid }),
          { execute: [oidc.allowInsecureRequests] },
        );
        const tokens = await oidc.clientCredentialsGrant(config, { resource: api });
        assert.equal(tokens.token_type.toLowerCase(), 'bearer');
        await assertAccessToken(server, tokens.access_token, ids[name]);
        const scoped = await oidc.clientCredentialsGrant(config, { resource: api, scope: 'svc.read' });
        await assertAccessToken(server, scoped.access_token, ids[name], 'svc.read');
      });
    }

    it('accepts a lifetime of exactly CLIENT_ASSERTION_MAX_LIFETIME (300 s)', async () => {
      const now = nowSeconds();
      await assertIssued(server, await requestToken(server, await assertion({ claims: { iat: now, exp: now + 300 } })), ids.es256);
    });

    it('tolerates an iat a few seconds ahead (clock skew within the 5 s tolerance)', async () => {
      const now = nowSeconds();
      await assertIssued(server, await requestToken(server, await assertion({ claims: { iat: now + 3, exp: now + 63 } })), ids.es256);
    });

    it('accepts an assertion without iat that expires within 300 s of now, unless it may predate the replay markers', async () => {
      const claims = { iat: undefined, exp: nowSeconds() + 60 };
      const answer = await requestToken(server, await assertion({ claims }));
      if (server.config.redisUrl === undefined) {
        // Markers in Postgres are durable: nothing predates them.
        await assertIssued(server, answer, ids.es256);
        return;
      }
      // On Redis the markers' generation began when this suite's server first used its key
      // prefix, seconds ago. Without iat, the assertion could have been accepted since exp - 305 s,
      // before that: it is refused as one whose marker a Redis reset could have lost would be
      // (src/oidc/assertion-replay.ts; test/integration/replay-after-redis-loss.test.ts).
      assertRefused(answer);
      assert.match(String(answer.json?.error_description), /may predate a reset of the replay store/);
    });
  });

  describe('jti replay', () => {
    it('refuses the same assertion the second time', async () => {
      const once = await assertion();
      await assertIssued(server, await requestToken(server, once), ids.es256);
      assertRefused(await requestToken(server, once));
      assertRefused(await requestToken(server, once, { client_id: ids.es256 }));
    });

    it('of 20 parallel requests with one assertion, exactly one gets a token', async () => {
      const once = await assertion();
      const answers = await Promise.all(Array.from({ length: 20 }, () => requestToken(server, once)));
      const issued = answers.filter((answer) => answer.status === 200);
      assert.equal(issued.length, 1, answers.map((answer) => answer.status).join(' '));
      await assertAccessToken(server, issued[0]!.json?.access_token, ids.es256);
      for (const answer of answers.filter((candidate) => candidate.status !== 200)) assertRefused(answer);
    });

    it('counts a jti once per client, not across clients', async () => {
      const jti = crypto.randomUUID();
      await assertIssued(server, await requestToken(server, await assertion({ claims: { jti } })), ids.es256);
      const other = await assertion({ claims: { jti } }, ids.other, keys.other);
      await assertIssued(server, await requestToken(server, other), ids.other);
      assertRefused(await requestToken(server, await assertion({ claims: { jti } })));
    });

    it('records every refused assertion in the audit trail, with its reason and no token', async () => {
      const once = await assertion();
      await assertIssued(server, await requestToken(server, once), ids.es256);
      assertRefused(await requestToken(server, once));
      const events = await adminRequest(
        server.url,
        adminToken,
        'GET',
        `/admin/events?type=client_assertion_refused&client_id=${encodeURIComponent(ids.es256)}&limit=200`,
      );
      const items = events.items as { outcome: string; details: { reason?: string }; client_id: string }[];
      assert.ok(items.some((event) => /only be used once/.test(event.details.reason ?? '')), JSON.stringify(items.slice(0, 3)));
      for (const event of items) assert.equal(event.outcome, 'failure');
      assert.ok(!JSON.stringify(items).includes(once), 'the assertion itself is never stored');
    });
  });

  describe('lifetime and time claims', () => {
    it('refuses an expired assertion', async () => {
      const now = nowSeconds();
      assertRefused(await requestToken(server, await assertion({ claims: { iat: now - 120, exp: now - 60 } })));
    });

    it('refuses a lifetime of 301 s (iat = now, exp = now + 301)', async () => {
      const now = nowSeconds();
      assertRefused(await requestToken(server, await assertion({ claims: { iat: now, exp: now + 301 } })));
    });

    it('refuses a long lifetime even when iat is old (iat = now - 3000, exp = now + 60)', async () => {
      const now = nowSeconds();
      assertRefused(await requestToken(server, await assertion({ claims: { iat: now - 3000, exp: now + 60 } })));
    });

    it('refuses an assertion without iat that expires more than 300 s from now', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { iat: undefined, exp: nowSeconds() + 400 } })));
    });

    it('refuses iat 60 s in the future', async () => {
      const now = nowSeconds();
      assertRefused(await requestToken(server, await assertion({ claims: { iat: now + 60, exp: now + 120 } })));
    });

    it('refuses nbf in the future', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { nbf: nowSeconds() + 60 } })));
    });

    it('refuses an assertion without exp', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { exp: undefined } })));
    });

    it('refuses non-numeric time claims', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { exp: String(nowSeconds() + 60) } })));
      assertRefused(await requestToken(server, await assertion({ claims: { iat: String(nowSeconds()) } })));
    });
  });

  describe('identity claims', () => {
    it('refuses an assertion without jti', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { jti: undefined } })));
    });

    it('refuses iss different from sub', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { iss: ids.other } })));
    });

    it('refuses an assertion without iss', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { iss: undefined } })));
    });

    it('refuses an assertion without sub', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { sub: undefined } })));
    });

    it('refuses the sub of another client (signed with my own key)', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { sub: ids.other } })));
      assertRefused(await requestToken(server, await assertion({ claims: { iss: ids.other, sub: ids.other } })));
    });

    it('refuses an unknown client', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { iss: 'svc-unknown', sub: 'svc-unknown' } })));
    });

    it('refuses a client_id in the body that differs from sub with 400 invalid_request', async () => {
      assertRefused(await requestToken(server, await assertion(), { client_id: ids.other }), 400, 'invalid_request');
    });

    it('refuses a wrong client_assertion_type with 400 invalid_request', async () => {
      const answer = await requestToken(server, await assertion(), {
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
      });
      assertRefused(answer, 400, 'invalid_request');
    });

    it('refuses a client_assertion that is not a JWT with 400 invalid_request', async () => {
      assertRefused(await requestToken(server, 'not-a.jwt'), 400, 'invalid_request');
    });
  });

  describe('audience', () => {
    it('refuses the token endpoint URL as aud (only the issuer is accepted by default)', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { aud: discovery.token_endpoint } })));
    });

    it('refuses an array aud, even [issuer]', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { aud: [server.issuer] } })));
      assertRefused(await requestToken(server, await assertion({ claims: { aud: [server.issuer, discovery.token_endpoint] } })));
    });

    it("refuses another server's URL", async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { aud: 'https://other-as.example.test' } })));
      assertRefused(await requestToken(server, await assertion({ claims: { aud: `${server.issuer}/` } })));
    });

    it('refuses an assertion without aud', async () => {
      assertRefused(await requestToken(server, await assertion({ claims: { aud: undefined } })));
    });
  });

  describe('keys, algorithms and header', () => {
    it('refuses an assertion signed by a key not registered for the client', async () => {
      // With the client's kid, with the attacker's kid, and without a kid.
      assertRefused(await requestToken(server, await assertion({ header: { kid: keys.es256.kid } }, ids.es256, keys.attackerEc)));
      assertRefused(await requestToken(server, await assertion({}, ids.es256, keys.attackerEc)));
      assertRefused(await requestToken(server, await assertion({ header: { kid: undefined } }, ids.es256, keys.attackerEc)));
      // Another client's registered key.
      assertRefused(await requestToken(server, await assertion({ header: { kid: keys.es256.kid } }, ids.es256, keys.other)));
    });

    it('refuses alg none', async () => {
      const claims = goodClaims(ids.es256, server.issuer);
      assertRefused(await requestToken(server, handBuilt({ alg: 'none' }, claims, '')));
      assertRefused(await requestToken(server, handBuilt({ alg: 'none', kid: keys.es256.kid }, claims, '')));
      assertRefused(await requestToken(server, handBuilt({ alg: 'None', typ: 'JWT' }, claims, '')));
    });

    it('refuses HS256 keyed with the public key material (algorithm confusion)', async () => {
      for (const name of ['es256', 'rs256'] as const) {
        const key = keys[name];
        const secrets = [JSON.stringify(key.publicJwk), await exportSPKI(key.publicKey), JSON.stringify({ keys: [key.publicJwk] })];
        for (const secret of secrets) {
          for (const alg of ['HS256', 'HS512']) {
            const jwt = await new CompactSign(encoder.encode(JSON.stringify(goodClaims(ids[name], server.issuer))))
              .setProtectedHeader({ alg, kid: key.kid })
              .sign(encoder.encode(secret));
            assertRefused(await requestToken(server, jwt));
          }
        }
      }
    });

    it('refuses an alg the registered key is not for (RS256 header on an EC key, PS256 on an RS256 key)', async () => {
      // The ES256 signature of a good assertion, relabelled RS256.
      const claims = goodClaims(ids.es256, server.issuer);
      const signedEs = await signAssertion(ids.es256, server.issuer, keys.es256, { claims });
      assertRefused(await requestToken(server, handBuilt({ alg: 'RS256', kid: keys.es256.kid }, claims, signedEs.split('.')[2]!)));
      // An RS256 signature by an RSA key that carries the EC key's kid.
      assertRefused(await requestToken(server, await assertion({ header: { kid: keys.es256.kid } }, ids.es256, keys.attackerRsa)));
      // A genuine PS256 signature by the RS256 client's own key, whose JWK says alg RS256.
      const rsaKeyObject = crypto.createPrivateKey({ key: (await exportJWK(keys.rs256.privateKey)), format: 'jwk' });
      const ps256 = await new CompactSign(encoder.encode(JSON.stringify(goodClaims(ids.rs256, server.issuer))))
        .setProtectedHeader({ alg: 'PS256', kid: keys.rs256.kid })
        .sign(rsaKeyObject);
      assertRefused(await requestToken(server, ps256));
    });

    for (const name of ['jku', 'x5u'] as const) {
      it(`refuses a ${name} header, even on an otherwise good assertion`, async () => {
        assertRefused(await requestToken(server, await assertion({ header: { [name]: 'https://attacker.example.test/jwks.json' } })));
        const attacker = await assertion({ header: { [name]: 'https://attacker.example.test/jwks.json' } }, ids.es256, keys.attackerEc);
        assertRefused(await requestToken(server, attacker));
      });
    }

    it("refuses a jwk header embedding the attacker's own key", async () => {
      const embedded = { ...keys.attackerEc.publicJwk };
      assertRefused(await requestToken(server, await assertion({ header: { jwk: embedded, kid: undefined } }, ids.es256, keys.attackerEc)));
      assertRefused(await requestToken(server, await assertion({ header: { jwk: embedded } }, ids.es256, keys.attackerEc)));
      // The client's own key embedded: still a key reference in the header.
      const own = { kty: keys.es256.publicJwk.kty, crv: keys.es256.publicJwk.crv, x: keys.es256.publicJwk.x, y: keys.es256.publicJwk.y };
      assertRefused(await requestToken(server, await assertion({ header: { jwk: own } })));
    });

    it('refuses an x5c header', async () => {
      assertRefused(await requestToken(server, await assertion({ header: { x5c: ['MIIBszCCAVmgAwIBAgIUAA=='] } })));
    });

    it('refuses a kid that is not in the client JWKS (kid injection)', async () => {
      const injected = ['../../etc/passwd', "' OR '1'='1' --", '{"$ne":null}', 'x'.repeat(4096), '\u0000'];
      for (const kid of injected) {
        assertRefused(await requestToken(server, await assertion({ header: { kid } }, ids.es256, keys.attackerEc)), 401, 'invalid_client');
      }
    });
  });

  describe('a secret instead of an assertion', () => {
    it('refuses client_secret_post for a private_key_jwt client with 401 invalid_client', async () => {
      const body = new URLSearchParams({ grant_type: 'client_credentials', resource: api, client_id: ids.es256, client_secret: 'x'.repeat(43) });
      const response = await fetch(`${server.url}/token`, { method: 'POST', body });
      log.record('POST', '/token', response);
      assertRefused(await readResponse(response));
    });

    it('refuses client_secret_basic for a private_key_jwt client with 401 invalid_client', async () => {
      const body = new URLSearchParams({ grant_type: 'client_credentials', resource: api });
      const response = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(ids.es256, 'x'.repeat(43)) },
        body,
      });
      log.record('POST', '/token', response);
      const answer = await readResponse(response);
      assertRefused(answer);
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Basic /);
    });

    it('refuses no authentication at all with the client_id alone', async () => {
      const body = new URLSearchParams({ grant_type: 'client_credentials', resource: api, client_id: ids.es256 });
      const response = await fetch(`${server.url}/token`, { method: 'POST', body });
      log.record('POST', '/token', response);
      assertRefused(await readResponse(response));
    });
  });

  describe('jwks_uri', () => {
    const clientId = 'svc-jwks-uri';
    let jwks: JwksServer;
    let oldKey: SigningKey;
    let newKey: SigningKey;

    const assertionBy = (key: SigningKey, options: AssertionOptions = {}) => signAssertion(clientId, server.issuer, key, options);

    before(async () => {
      oldKey = await createKey('ES256', 'rollover-old');
      newKey = await createKey('ES256', 'rollover-new');
      jwks = await startJwksServer([oldKey.publicJwk]);
      await registerClient(server, adminToken, clientId, { jwksUri: jwks.url });
    });

    after(async () => {
      await jwks?.close();
    });

    it('fetches the key set and issues a token', async () => {
      await assertIssued(server, await requestToken(server, await assertionBy(oldKey)), clientId);
      assert.equal(jwks.fetches, 1, 'the jwks_uri was fetched once, on first use');
      // A second assertion uses the cached key set.
      const before = jwks.fetches;
      await assertIssued(server, await requestToken(server, await assertionBy(oldKey)), clientId);
      assert.equal(jwks.fetches, before, 'a known key does not cause a fetch');
    });

    it('still refuses a foreign key for a jwks_uri client', async () => {
      assertRefused(await requestToken(server, await assertionBy(keys.attackerEc, { header: { kid: oldKey.kid } })));
    });

    it('follows a key rollover: the new key works after the refetch interval, the old key is refused', async () => {
      jwks.keys = [newKey.publicJwk];
      // The server refetches on an unknown kid at most once per JWKS_URI_MIN_REFETCH_INTERVAL
      // since its last fetch; an assertion sent before that may be refused.
      await sleep(refetchWaitMs);
      const fetchesBefore = jwks.fetches;
      await assertIssued(server, await requestToken(server, await assertionBy(newKey)), clientId);
      assert.equal(jwks.fetches, fetchesBefore + 1, 'the unknown kid caused one refetch');

      const afterRefetch = jwks.fetches;
      assertRefused(await requestToken(server, await assertionBy(oldKey)));
      assert.ok(jwks.fetches <= afterRefetch + 1, `fetched ${jwks.fetches - afterRefetch} more times`);
      // Still refused after a further refetch window.
      await sleep(refetchWaitMs);
      assertRefused(await requestToken(server, await assertionBy(oldKey)));
      await assertIssued(server, await requestToken(server, await assertionBy(newKey)), clientId);
    });

    it('a burst of 20 assertions with an unknown kid causes at most 2 fetches', async () => {
      const stranger = await createKey('ES256', `unknown-${crypto.randomUUID()}`);
      await sleep(refetchWaitMs);
      const fetchesBefore = jwks.fetches;
      const burst = await Promise.all(Array.from({ length: 20 }, async () => requestToken(server, await assertionBy(stranger))));
      for (const answer of burst) assertRefused(answer);
      const fetched = jwks.fetches - fetchesBefore;
      assert.ok(fetched >= 1, 'an unknown kid after the interval causes a refetch');
      assert.ok(fetched <= 2, `the burst caused ${fetched} fetches`);
      // The client's real key still works.
      await assertIssued(server, await requestToken(server, await assertionBy(newKey)), clientId);
    });

    it('refuses with 401 invalid_client, not a 5xx, when the jwks_uri answers with an error or garbage', async () => {
      const broken = 'svc-jwks-broken';
      const failing = await startJwksServer([oldKey.publicJwk]);
      try {
        await registerClient(server, adminToken, broken, { jwksUri: failing.url });
        failing.answer = { status: 500, body: 'upstream trouble' };
        assertRefused(await requestToken(server, await signAssertion(broken, server.issuer, oldKey)));
        await sleep(refetchWaitMs);
        failing.answer = { status: 200, body: '{"keys": "not a list"' };
        assertRefused(await requestToken(server, await signAssertion(broken, server.issuer, oldKey)));
        assert.ok(failing.fetches >= 1 && failing.fetches <= 2, `fetched ${failing.fetches} times`);
        // Once the key set is served again (after the refetch interval), the client is back.
        await sleep(refetchWaitMs);
        failing.answer = undefined;
        await assertIssued(server, await requestToken(server, await signAssertion(broken, server.issuer, oldKey)), broken);
      } finally {
        await failing.close();
      }
    });
  });

  describe('with CLIENT_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD=true', () => {
    let tokenEndpointEnv: TestEnvironment;
    let tokenEndpointServer: TestServer;
    let tokenEndpoint: string;
    const clientId = 'svc-token-endpoint-aud';

    before(async () => {
      tokenEndpointEnv = await createTestEnvironment();
      tokenEndpointServer = await tokenEndpointEnv.start({ CLIENT_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD: 'true' });
      const token = await prepareServer(tokenEndpointServer);
      tokenEndpoint = (await discover(tokenEndpointServer)).token_endpoint;
      assert.equal(tokenEndpoint, `${tokenEndpointServer.issuer}/token`);
      await registerClient(tokenEndpointServer, token, clientId, { jwks: [keys.es256.publicJwk] });
    });

    after(async () => {
      await tokenEndpointEnv?.cleanup();
    });

    it('accepts the token endpoint URL as aud', async () => {
      const jwt = await signAssertion(clientId, tokenEndpoint, keys.es256);
      await assertIssued(tokenEndpointServer, await requestToken(tokenEndpointServer, jwt), clientId);
    });

    it('still accepts the issuer as aud', async () => {
      const jwt = await signAssertion(clientId, tokenEndpointServer.issuer, keys.es256);
      await assertIssued(tokenEndpointServer, await requestToken(tokenEndpointServer, jwt), clientId);
    });

    it('still refuses arrays and other audiences', async () => {
      for (const aud of [[tokenEndpoint], [tokenEndpointServer.issuer], 'https://other-as.example.test', `${server.issuer}/token`]) {
        assertRefused(await requestToken(tokenEndpointServer, await signAssertion(clientId, aud, keys.es256)));
      }
    });
  });

  describe('jwks_uri on loopback without JWKS_URI_ALLOW_PRIVATE', () => {
    let blockedEnv: TestEnvironment;
    let blockedServer: TestServer;
    let jwks: JwksServer;
    let key: SigningKey;
    let blockedAdminToken: string;
    const clientId = 'svc-loopback-jwks';

    before(async () => {
      blockedEnv = await createTestEnvironment();
      blockedServer = await blockedEnv.start();
      blockedAdminToken = await prepareServer(blockedServer);
      key = await createKey('ES256');
      jwks = await startJwksServer([key.publicJwk]);
      await registerClient(blockedServer, blockedAdminToken, clientId, { jwksUri: jwks.url });
    });

    after(async () => {
      await jwks?.close();
      await blockedEnv?.cleanup();
    });

    it('refuses the assertion with 401 invalid_client and never contacts the jwks_uri', async () => {
      assertRefused(await requestToken(blockedServer, await signAssertion(clientId, blockedServer.issuer, key)));
      assertRefused(await requestToken(blockedServer, await signAssertion(clientId, blockedServer.issuer, key)));
      assert.equal(jwks.fetches, 0, 'the loopback jwks_uri received no request');
    });

    it('is not fooled by other spellings of the loopback address', async () => {
      const { port } = new URL(jwks.url);
      const spellings = ['localhost', '127.1', '2130706433', '0x7f.0.0.1', '[::ffff:127.0.0.1]'];
      // Each spelling does reach the jwks server from here, so only the server's guard can stop it.
      for (const host of spellings) {
        const direct = await fetch(`http://${host}:${port}/jwks.json`);
        assert.equal(direct.status, 200, `http://${host}:${port} is reachable from the test`);
        await direct.body?.cancel();
      }
      const fetchesBefore = jwks.fetches;
      for (const [index, host] of spellings.entries()) {
        const id = `svc-loopback-${index}`;
        await registerClient(blockedServer, blockedAdminToken, id, { jwksUri: `http://${host}:${port}/jwks.json` });
        assertRefused(await requestToken(blockedServer, await signAssertion(id, blockedServer.issuer, key)));
      }
      assert.equal(jwks.fetches, fetchesBefore, 'the server sent the loopback jwks_uri no request');
    });
  });

  describe('regression: refused client assertions gave a bare invalid_client — error_description names the failed check', () => {
    /** 401 invalid_client with no token, and an error_description matching every pattern. */
    function assertRefusedBecause(answer: JsonResponse, ...reasons: RegExp[]): string {
      assertRefused(answer);
      const description = String(answer.json?.error_description);
      for (const reason of reasons) assert.match(description, reason, answer.text);
      // RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
      assert.match(description, /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/, 'error_description uses only the characters RFC 6749 allows');
      return description;
    }

    it("names both problems of an authlib-style assertion (aud = token endpoint, exp = iat + 3600), on the fast path's and the library's request alike", async () => {
      const now = nowSeconds();
      const authlib = { claims: { aud: discovery.token_endpoint, iat: now, exp: now + 3600 } };
      // With a resource (the client-credentials fast path reads it first and hands it over)...
      const viaFastPath = assertRefusedBecause(
        await requestToken(server, await assertion(authlib)),
        new RegExp(`aud must be the issuer identifier ${server.issuer.replaceAll('.', '\\.')}`),
        /assertion lifetime 3600 s exceeds 300 s/,
      );
      // ...and without (only the library answers): the same description.
      const body = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: assertionType, client_assertion: await assertion(authlib) });
      const response = await fetch(`${server.url}/token`, { method: 'POST', body });
      log.record('POST', '/token', response);
      assert.equal(assertRefusedBecause(await readResponse(response)), viaFastPath);
    });

    it('names the failed check of each claim and header', async () => {
      const now = nowSeconds();
      const cases: [AssertionOptions, RegExp][] = [
        [{ claims: { aud: discovery.token_endpoint } }, /^aud must be the issuer identifier/],
        [{ claims: { aud: [server.issuer] } }, /aud must be the issuer identifier .*, as a single string/],
        [{ claims: { iat: now, exp: now + 301 } }, /^assertion lifetime 301 s exceeds 300 s$/],
        [{ claims: { iat: now - 3000, exp: now + 60 } }, /^assertion lifetime 3060 s exceeds 300 s$/],
        [{ claims: { iat: now - 120, exp: now - 60 } }, /^the client_assertion has expired$/],
        [{ claims: { iat: now + 60, exp: now + 120 } }, /^iat is in the future$/],
        [{ claims: { nbf: now + 60 } }, /^nbf is in the future$/],
        [{ claims: { exp: undefined } }, /^exp is required/],
        [{ claims: { jti: undefined } }, /^jti is required/],
        [{ claims: { iss: ids.other } }, /^iss and sub must both be the client_id$/],
        [{ header: { jku: 'https://attacker.example.test/jwks.json' } }, /^the client_assertion header must not carry jku$/],
      ];
      for (const [options, reason] of cases) assertRefusedBecause(await requestToken(server, await assertion(options)), reason);
      const hs256 = await new CompactSign(encoder.encode(JSON.stringify(goodClaims(ids.es256, server.issuer))))
        .setProtectedHeader({ alg: 'HS256', kid: keys.es256.kid })
        .sign(encoder.encode(JSON.stringify(keys.es256.publicJwk)));
      assertRefusedBecause(await requestToken(server, hs256), /^alg HS256 is not allowed; use one of ES256, /);
      assertRefusedBecause(await requestToken(server, handBuilt({ alg: 'none' }, goodClaims(ids.es256, server.issuer), '')), /^alg none is not allowed/);
    });

    it('says jti already used for a replay, to every one of 20 parallel replays of a spent assertion', async () => {
      const once = await assertion();
      await assertIssued(server, await requestToken(server, once), ids.es256);
      const replays = await Promise.all(Array.from({ length: 20 }, () => requestToken(server, once)));
      for (const answer of replays) assertRefusedBecause(answer, /^jti already used/);
    });

    it('of 20 parallel first uses, the 19 refused are told jti already used', async () => {
      const once = await assertion();
      const answers = await Promise.all(Array.from({ length: 20 }, () => requestToken(server, once)));
      assert.equal(answers.filter((answer) => answer.status === 200).length, 1);
      for (const answer of answers.filter((candidate) => candidate.status !== 200)) assertRefusedBecause(answer, /^jti already used/);
    });

    it('gives a wrong key, an unknown client and a secret-based client one description (no client enumeration)', async () => {
      const wrongKey = assertRefusedBecause(await requestToken(server, await assertion({}, ids.es256, keys.attackerEc)), /signature does not verify/);
      const unknown = assertRefusedBecause(await requestToken(server, await assertion({}, 'svc-never-registered', keys.attackerEc)));
      const secretClient = await adminRequest(server.url, adminToken, 'POST', '/admin/clients', {
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'svc.read',
      });
      const secretBased = assertRefusedBecause(await requestToken(server, await assertion({}, secretClient.client_id as string, keys.attackerEc)));
      assert.equal(unknown, wrongKey);
      assert.equal(secretBased, wrongKey);
      // Claims problems are named whoever the client is, in the same words.
      const now = nowSeconds();
      const stale = { claims: { iat: now - 120, exp: now - 60 } };
      assert.equal(
        assertRefusedBecause(await requestToken(server, await assertion(stale, 'svc-never-registered', keys.attackerEc))),
        assertRefusedBecause(await requestToken(server, await assertion(stale))),
      );
    });

    it('keeps the generic description for a wrong client_secret', async () => {
      const created = await adminRequest(server.url, adminToken, 'POST', '/admin/clients', {
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'svc.read',
      });
      const body = new URLSearchParams({ grant_type: 'client_credentials', resource: api });
      for (const clientId of [created.client_id as string, 'svc-never-registered']) {
        const response = await fetch(`${server.url}/token`, { method: 'POST', headers: { authorization: basicAuth(clientId, 'x'.repeat(43)) }, body });
        log.record('POST', '/token', response);
        const answer = await readResponse(response);
        assertRefused(answer);
        assert.equal(answer.json?.error_description, 'client authentication failed', answer.text);
      }
    });

    it('names the failed check at the introspection endpoint too', async () => {
      const now = nowSeconds();
      const body = new URLSearchParams({
        token: 'opaque-token-value',
        client_assertion_type: assertionType,
        client_assertion: await assertion({ claims: { aud: discovery.token_endpoint, iat: now, exp: now + 3600 } }),
      });
      const response = await fetch(`${server.url}/token/introspection`, { method: 'POST', body });
      log.record('POST', '/token/introspection', response);
      assertRefusedBecause(await readResponse(response), /aud must be the issuer identifier/, /assertion lifetime 3600 s exceeds 300 s/);
    });

    it('tells openid-client users what to change (aud = token endpoint)', async () => {
      const config = await oidc.discovery(
        new URL(server.issuer),
        ids.es256,
        undefined,
        oidc.PrivateKeyJwt({ key: keys.es256.privateKey, kid: keys.es256.kid }, { [oidc.modifyAssertion]: (_header, payload) => void (payload.aud = discovery.token_endpoint) }),
        { execute: [oidc.allowInsecureRequests] },
      );
      await assert.rejects(oidc.clientCredentialsGrant(config, { resource: api }), (error: unknown) => {
        assert.ok(error instanceof oidc.ResponseBodyError, String(error));
        assert.equal(error.error, 'invalid_client');
        assert.match(String(error.error_description), /^aud must be the issuer identifier/);
        return true;
      });
    });
  });

  describe('whole suite', () => {
    it('never answered with a 5xx', () => {
      assert.ok(log.entries.length > 50, `only ${log.entries.length} responses recorded`);
      log.assertNoServerErrors();
    });
  });
});
