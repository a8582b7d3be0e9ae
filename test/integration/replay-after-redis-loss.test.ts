// A client assertion is good for one request (RFC 7523 §3 item 7), even across a loss of Redis's
// data: its `jti` marker lives in Redis, so once Redis is flushed (FLUSHALL) or replaced by an
// empty one (a restart without persistence) the marker is gone, and the assertion must still be
// refused. The server refuses every assertion issued before the loss (src/stores/ephemeral/redis.ts,
// src/oidc/assertion-replay.ts) on both paths a private_key_jwt request can take: the client
// credentials fast path and the library's own client authentication; a freshly signed one works.
// Redis is a redis-server of this test's own, keeping nothing on disk, so the suite runs it with
// either Postgres (the embedded PGlite or DATABASE_URL's) under it.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompactSign, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { Redis } from 'ioredis';
import { fastPathServedCount } from '../helpers/fast-path.js';
import { createTestEnvironment, freePort, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { startRedisServer } from '../helpers/stores.js';
import { createAdminApi, getAdminToken, readResponse, ResponseLog, type JsonResponse } from '../helpers/http-support.js';

const api = 'https://api.test/replay-orders';
const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const refusedAsPredating = /^jti already used, or the client_assertion may predate a reset of the replay store/;

type Path = 'fast path' | 'library';

describe(`client assertions after a Redis data loss (dedicated Redis, ${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let redisDir: string;
  let redisPort: number;
  let redis: { stop(): Promise<void> };
  const log = new ResponseLog();
  let client: { id: string; key: CryptoKey; kid: string };

  before(async () => {
    env = await createTestEnvironment();
    redisPort = await freePort();
    redisDir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-replay-redis-'));
    redis = await startRedisServer(redisPort, redisDir);
    server = await env.start({ REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    const adminToken = await getAdminToken(server.url, log);
    const admin = createAdminApi(server.url, () => adminToken, log);
    const resource = await admin.call('POST', '/resources', { json: { identifier: api, scopes: ['orders.read'] } });
    assert.equal(resource.status, 201, resource.text);
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const kid = 'replay-key';
    const created = await admin.call('POST', '/clients', {
      json: {
        grant_types: ['client_credentials'],
        scope: 'orders.read',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] },
      },
    });
    assert.equal(created.status, 201, created.text);
    client = { id: created.json!.client_id as string, key: privateKey, kid };
  });

  after(async () => {
    await env?.cleanup();
    await redis?.stop();
    if (redisDir) await fs.rm(redisDir, { recursive: true, force: true });
    log.assertNoServerErrors();
  });

  /** A good assertion signed now (or with the claims given). */
  async function assertion(claims: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload = Object.fromEntries(
      Object.entries({ iss: client.id, sub: client.id, aud: server.issuer, jti: crypto.randomUUID(), iat: now, exp: now + 60, ...claims }).filter(
        ([, value]) => value !== undefined,
      ),
    );
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES256', kid: client.kid }).sign(client.key);
  }

  /**
   * A client_credentials request with the assertion, on the path asked for: the fast path serves
   * it, and an unknown parameter (ignored, RFC 6749 §3.2) hands the same request to the library
   * (see token-fast-path.test.ts). Checks that the path asked for is the one that answered a 200.
   */
  async function requestToken(signed: string, via: Path): Promise<JsonResponse> {
    const before = await fastPathServedCount(server.url, 'token');
    const body = new URLSearchParams({ grant_type: 'client_credentials', resource: api, client_assertion_type: assertionType, client_assertion: signed });
    if (via === 'library') body.set('unrelated', 'x');
    const response = await fetch(`${server.url}/token`, { method: 'POST', body });
    log.record('POST', '/token', response);
    const answer = await readResponse(response);
    const served = (await fastPathServedCount(server.url, 'token')) > before;
    if (answer.status === 200) assert.equal(served, via === 'fast path', `${via} was expected to answer`);
    else assert.equal(served, false, 'a refusal is always the library\'s answer');
    return answer;
  }

  async function assertIssued(signed: string, via: Path): Promise<void> {
    const answer = await requestToken(signed, via);
    assert.equal(answer.status, 200, `${via}: ${answer.text}`);
    assert.equal(typeof answer.json?.access_token, 'string');
  }

  async function assertRefused(signed: string, via: Path, reason: RegExp = refusedAsPredating): Promise<void> {
    const answer = await requestToken(signed, via);
    assert.equal(answer.status, 401, `${via}: ${answer.text}`);
    assert.equal(answer.json?.error, 'invalid_client', answer.text);
    assert.match(String(answer.json?.error_description), reason, answer.text);
    assert.equal(answer.json?.access_token, undefined);
  }

  /**
   * `iat` names a whole second, and an assertion that says it was signed in the second a marker
   * generation began counts as signed after it (src/oidc/assertion-replay.ts). So the loss has to
   * come in a later second than the assertions it should retire: this waits (under a second) for
   * the clock the server and Redis share. Redis's TIME cannot be faked, so this is a real wait.
   */
  async function intoTheNextSecond(): Promise<void> {
    await sleep(1000 - (Date.now() % 1000) + 20);
  }

  /** The server answers again after Redis came back (ioredis reconnects on its own). */
  async function untilReady(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while ((await fetch(`${server.url}/readyz`)).status !== 200) {
      assert.ok(Date.now() < deadline, 'ready again within 10 s');
      await sleep(100);
    }
  }

  const bothPaths: Path[] = ['fast path', 'library'];

  it('refuses assertions used before a FLUSHALL, on both paths, and accepts fresh ones', async () => {
    const used = { 'fast path': await assertion(), library: await assertion() };
    for (const via of bothPaths) await assertIssued(used[via], via);
    for (const via of bothPaths) await assertRefused(used[via], via, /^jti already used/);
    const neverUsed = await assertion();

    await intoTheNextSecond();
    const flusher = new Redis({ port: redisPort, host: '127.0.0.1', lazyConnect: true });
    try {
      await flusher.connect();
      assert.equal(await flusher.flushall(), 'OK');
    } finally {
      flusher.disconnect();
    }

    // Each on its own path, then on the other one: the marker is gone, the refusal is not.
    for (const via of bothPaths) await assertRefused(used[via], via);
    for (const via of bothPaths) await assertRefused(used[via === 'library' ? 'fast path' : 'library'], via);
    // Issued before the loss but never seen: it might have been used on a server that lost its
    // record, so it is refused too.
    for (const via of bothPaths) await assertRefused(neverUsed, via);
    // Without iat, an assertion counts as issued as early as its lifetime cap allows
    // (exp - CLIENT_ASSERTION_MAX_LIFETIME - the clock tolerance), so before the loss.
    for (const via of bothPaths) await assertRefused(await assertion({ iat: undefined }), via);

    for (const via of bothPaths) {
      const fresh = await assertion();
      await assertIssued(fresh, via);
      await assertRefused(fresh, via, /^jti already used/);
    }
  });

  it('refuses assertions used before Redis was replaced by an empty one, on both paths, and accepts fresh ones', async () => {
    const used = { 'fast path': await assertion(), library: await assertion() };
    for (const via of bothPaths) await assertIssued(used[via], via);

    await intoTheNextSecond();
    await redis.stop();
    redis = await startRedisServer(redisPort, redisDir);
    await untilReady();

    for (const via of bothPaths) await assertRefused(used[via], via);
    for (const via of bothPaths) await assertRefused(used[via === 'library' ? 'fast path' : 'library'], via);
    for (const via of bothPaths) {
      const fresh = await assertion();
      await assertIssued(fresh, via);
      await assertRefused(fresh, via, /^jti already used/);
    }
  });
});
