// The revocation feed end to end: a resource server using portcullis/verify refuses a token
// within a second of its revocation at the server; the wire format resumes after a disconnect.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import { adminRequest, basicAuth, getAdminToken } from '../helpers/admin.js';
import { clientCredentialsToken } from '../helpers/http-support.js';
import { readEventStream, type StreamEvent } from '../helpers/event-stream.js';
import { until } from '../helpers/wait.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { createTokenVerifier, TokenVerificationError, type TokenVerifier } from '../../src/verify/index.js';

const api = 'https://ledger.api.test';

/** The first `count` named events of the stream. */
async function readEvents(response: Response, count: number): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of readEventStream(response)) {
    if (event.event) events.push({ ...event, data: event.data ?? '' });
    if (events.length >= count) break;
  }
  return events;
}

describe(`revocation feed and portcullis/verify (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let verifier: TokenVerifier;
  const secrets: Record<string, string> = {};

  const clientToken = (clientId: string, resource: string) =>
    clientCredentialsToken(server.url, { clientId, clientSecret: secrets[clientId]!, params: { resource } });

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    const admin = await getAdminToken(server.url);
    await adminRequest(server.url, admin, 'POST', '/admin/resources', { identifier: api, scopes: ['ledger.read'] });
    for (const clientId of ['ledger-api', 'caller', 'other-caller']) {
      const created = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
        client_id: clientId,
        grant_types: ['client_credentials'],
        ...(clientId === 'ledger-api' ? {} : { scope: 'ledger.read' }),
      });
      secrets[clientId] = created.client_secret as string;
    }
    await adminRequest(server.url, admin, 'PUT', `/admin/resources/${encodeURIComponent(api)}`, {
      scopes: ['ledger.read'],
      client_id: 'ledger-api',
    });
    verifier = createTokenVerifier({
      issuer: server.issuer,
      audience: api,
      revocationFeed: { getAccessToken: () => clientToken('ledger-api', `${server.issuer}/revocations`) },
    });
    await verifier.ready();
  });

  after(async () => {
    verifier?.close();
    await env.cleanup();
  });

  it('refuses a token within a second of its revocation (RFC 7009 at the server)', async () => {
    const token = await clientToken('caller', api);
    const { claims, scopes } = await verifier.verify(token, { scope: 'ledger.read' });
    assert.equal(claims.client_id, 'caller');
    assert.deepEqual(scopes, ['ledger.read']);

    const revoked = await fetch(`${server.url}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basicAuth('caller', secrets.caller!) },
      body: new URLSearchParams({ token }),
    });
    assert.equal(revoked.status, 200);
    const elapsed = await until(
      'the verifier refuses the revoked token',
      () => verifier.verify(token).then(() => false, (error: TokenVerificationError) => error.code === 'ERR_TOKEN_REVOKED'),
      1_000,
      10,
    );
    assert.ok(elapsed < 1_000);
  });

  it('refuses every earlier token of a client revoked through the admin API, and not later ones', async () => {
    const first = await clientToken('other-caller', api);
    await verifier.verify(first);
    const admin = await getAdminToken(server.url);
    await adminRequest(server.url, admin, 'POST', '/admin/revocations', { client_id: 'other-caller' });
    await until('the verifier refuses the earlier token', () => verifier.verify(first).then(() => false, () => true), 1_000, 10);
    const later = await clientToken('other-caller', api);
    await verifier.verify(later);
  });

  it('checks scope, audience and the act chain', async () => {
    const token = await clientToken('caller', api);
    await assert.rejects(verifier.verify(token, { scope: 'ledger.write' }), { code: 'ERR_INSUFFICIENT_SCOPE' });
    await assert.rejects(verifier.verify(token, { allowActors: (act) => act !== undefined }), { code: 'ERR_ACTOR_NOT_ALLOWED' });
    const admin = await getAdminToken(server.url);
    await assert.rejects(verifier.verify(admin), { code: 'ERR_TOKEN_INVALID' }, 'a token for another audience');
    await assert.rejects(verifier.verify('not.a.token'), { code: 'ERR_TOKEN_INVALID' });
  });

  it('regression: portcullis/verify accepted more algorithms than access tokens use — an RS256 at+jwt signed with the server\'s own ID-token key is refused', async () => {
    const { keys } = JSON.parse(await fs.readFile(path.join(env.env.KEYS_DIR!, 'signing-keys.json'), 'utf8')) as { keys: (JWK & { kid: string })[] };
    const idTokenKey = keys.find((key) => key.alg === 'RS256');
    assert.ok(idTokenKey, 'the server holds an RS256 key (for ID tokens)');
    const genuine = await clientToken('caller', api);
    const { claims } = await verifier.verify(genuine);
    // Everything as in a genuine token, signed by a key in the server's own JWKS: only the
    // algorithm (and so the key) is that of another token type.
    const forged = await new SignJWT({ ...claims, jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: idTokenKey.kid })
      .sign(await importJWK(idTokenKey, 'RS256'));
    await assert.rejects(verifier.verify(forged), { code: 'ERR_TOKEN_INVALID' });
    // The server's own introspection refuses it too.
    const introspection = await fetch(`${server.url}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basicAuth('ledger-api', secrets['ledger-api']!) },
      body: new URLSearchParams({ token: forged }),
    });
    assert.deepEqual(await introspection.json(), { active: false });

    // The allow-list can be set explicitly; what it leaves out is refused, and it must be asymmetric.
    const rsaOnly = createTokenVerifier({ issuer: server.issuer, audience: api, revocationFeed: false, algorithms: ['RS256'] });
    await assert.rejects(rsaOnly.verify(genuine), { code: 'ERR_TOKEN_INVALID' });
    for (const algorithms of [[], ['none'], ['HS256']]) {
      assert.throws(() => createTokenVerifier({ issuer: server.issuer, audience: api, revocationFeed: false, algorithms }), TypeError);
    }
  });

  it('streams the documented wire format and resumes after Last-Event-ID', async () => {
    const feedToken = await clientToken('ledger-api', `${server.issuer}/revocations`);
    const first = await fetch(`${server.url}/revocations`, { headers: { authorization: `Bearer ${feedToken}` } });
    assert.equal(first.status, 200);
    assert.match(first.headers.get('content-type') ?? '', /text\/event-stream/);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    const replay = await readEvents(first, 3);
    await first.body?.cancel();
    const revocations = replay.filter((event) => event.event === 'revocation');
    assert.ok(revocations.length >= 2, 'the earlier revocations are replayed');
    const data = JSON.parse(revocations[0]!.data!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(data).sort(), ['expires_at', 'kind', 'revoked_at', 'revoked_at_ms', 'value']);
    assert.equal(data.kind, 'jti');
    // The same moment twice: ms since the epoch, and epoch seconds rounded down (older readers).
    assert.equal(typeof data.revoked_at_ms, 'number');
    assert.equal(Math.floor((data.revoked_at_ms as number) / 1000), data.revoked_at);

    const lastId = revocations[revocations.length - 1]!.id!;
    const resumed = await fetch(`${server.url}/revocations`, {
      headers: { authorization: `Bearer ${feedToken}`, 'last-event-id': lastId },
    });
    const [ready] = await readEvents(resumed, 1);
    await resumed.body?.cancel();
    assert.equal(ready?.event, 'ready', 'nothing is sent twice: straight to ready');
  });

  it('refuses the feed without a token, and to a client that acts for no API', async () => {
    const anonymous = await fetch(`${server.url}/revocations`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer realm="revocations"/);
    const refused = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth('caller', secrets.caller!) },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${server.issuer}/revocations` }),
    });
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_target');
    const wrongAudience = await fetch(`${server.url}/revocations`, {
      headers: { authorization: `Bearer ${await clientToken('caller', api)}` },
    });
    assert.equal(wrongAudience.status, 403);
  });
});
