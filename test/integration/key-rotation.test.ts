// Staged key rotation without downtime: new keys are published before they sign, become the
// signers after the delay on every instance at once, and old keys stay published while tokens
// they signed may still be alive.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { adminRequest, getAdminToken } from '../helpers/admin.js';
import { until } from '../helpers/wait.js';
import { createTestEnvironment, realStores, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';

async function jwks(server: TestServer): Promise<JWK[]> {
  return ((await (await fetch(`${server.url}/jwks`)).json()) as { keys: JWK[] }).keys;
}

describe(`key rotation (${storesLabel})`, () => {
  let env: TestEnvironment;
  let first: TestServer;
  let second: TestServer | undefined;

  before(async () => {
    env = await createTestEnvironment();
    first = await env.start();
    // A second instance of the same issuer shares the keys only on a real database.
    if (realStores) second = await env.start({ ISSUER: first.issuer });
  });
  after(() => env.cleanup());

  it('publishes new keys first, signs with them after the delay, and keeps old tokens verifiable', async () => {
    const before = await getAdminToken(first.url);
    const oldKid = decodeProtectedHeader(before).kid!;
    const keysBefore = await jwks(first);
    assert.equal(keysBefore.length, 2);

    const rotated = await adminRequest(first.url, before, 'POST', '/admin/keys/rotate', { delay_seconds: 2 });
    const statuses = (rotated.keys as { kid: string; status: string }[]).map((key) => key.status).sort();
    assert.deepEqual(statuses, ['active', 'active', 'next', 'next']);
    const newKids = (rotated.keys as { kid: string; status: string; alg: string }[])
      .filter((key) => key.status === 'next')
      .map((key) => key.kid);

    // Published at once, on every instance, before anything is signed with them.
    for (const server of [first, ...(second ? [second] : [])]) {
      await until('the new keys in the JWKS', async () => {
        const kids = (await jwks(server)).map((key) => key.kid);
        return newKids.every((kid) => kids.includes(kid));
      }, 1_000);
      for (const key of await jwks(server)) assert.equal(key.d, undefined, 'public keys only');
      assert.equal(decodeProtectedHeader(await getAdminToken(server.url)).kid, oldKid, 'not signing with the new key yet');
    }

    // After the delay every instance signs with the new key.
    for (const server of [first, ...(second ? [second] : [])]) {
      await until('signing with the new key', async () => newKids.includes(decodeProtectedHeader(await getAdminToken(server.url)).kid!), 6_000);
    }

    // The old key stays published (retiring) so tokens it signed still verify, and they still work.
    const published = await jwks(first);
    assert.ok(published.some((key) => key.kid === oldKid));
    await jwtVerify(before, createLocalJWKSet({ keys: published }), { issuer: first.issuer, typ: 'at+jwt' });
    const listing = await adminRequest(first.url, before, 'GET', '/admin/keys');
    const old = (listing.keys as { kid: string; status: string; published_until?: number }[]).find((key) => key.kid === oldKid);
    assert.equal(old?.status, 'retiring');
    assert.ok(old?.published_until && old.published_until > Date.now() / 1000);
  });

  it('refuses a bad rotation request', async () => {
    const admin = await getAdminToken(first.url);
    const response = await fetch(`${first.url}/admin/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ delay_seconds: -1 }),
    });
    assert.equal(response.status, 400);
  });
});
