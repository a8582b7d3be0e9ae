// Signing keys in KEYS_DIR: generated on first start (RS256 + ES256) with mode 0600, reused on
// every later start, and published without private parts.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compactVerify, CompactSign, importJWK } from 'jose';
import { loadKeyMaterial, toPublicJwk } from '../../src/keys/keystore.js';

const privateFields = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

describe('loadKeyMaterial', () => {
  let root: string;

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-keys-'));
  });

  after(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  const newDir = async (name: string) => path.join(root, name);


  it('generates an RS256 and an ES256 key into an empty directory, files mode 0600', async () => {
    const keysDir = await newDir('fresh');
    const material = await loadKeyMaterial({ keysDir });
    assert.equal(material.signingKeys.length, 2);
    assert.equal(material.signingKeys[0]!.alg, 'RS256', 'RS256 first: the default ID token signer');
    assert.equal(material.signingKeys[1]!.alg, 'ES256');
    const [rsa, ec] = material.signingKeys;
    assert.equal(rsa!.kty, 'RSA');
    assert.ok(Buffer.from(rsa!.n!, 'base64url').length * 8 >= 2048, 'RSA modulus of at least 2048 bits');
    assert.equal(ec!.kty, 'EC');
    assert.equal(ec!.crv, 'P-256');
    for (const key of material.signingKeys) {
      assert.equal(key.use, 'sig');
      assert.equal(typeof key.kid, 'string');
      assert.ok(key.kid.length >= 16);
      assert.equal(typeof key.d, 'string', 'the private part is loaded');
    }
    assert.notEqual(rsa!.kid, ec!.kid);
    assert.ok(material.cookieKeys.length >= 1);
    assert.ok(material.cookieKeys.every((key) => key.length >= 32));

    const files = (await fs.readdir(keysDir)).sort();
    assert.deepEqual(files, ['cookie-keys.json', 'data-key', 'signing-keys.json'], 'no temp files left behind');
    for (const file of files) {
      const stat = await fs.stat(path.join(keysDir, file));
      assert.equal(stat.mode & 0o777, 0o600, `${file} is 0600`);
    }
    const dirStat = await fs.stat(keysDir);
    assert.equal(dirStat.mode & 0o077, 0, 'the directory is not readable by others');
  });

  it('returns the same keys on a second load', async () => {
    const keysDir = await newDir('reload');
    const first = await loadKeyMaterial({ keysDir });
    const second = await loadKeyMaterial({ keysDir });
    assert.deepEqual(
      second.signingKeys.map((key) => key.kid),
      first.signingKeys.map((key) => key.kid),
    );
    assert.deepEqual(second.signingKeys, first.signingKeys);
    assert.deepEqual(second.cookieKeys, first.cookieKeys);
  });

  it('agrees on one key set when several instances start together on one directory', async () => {
    const keysDir = await newDir('race');
    const loads = await Promise.all(Array.from({ length: 5 }, () => loadKeyMaterial({ keysDir })));
    const kids = loads.map((material) => material.signingKeys.map((key) => key.kid).join(','));
    assert.equal(new Set(kids).size, 1, 'every instance sees the same keys');
    assert.deepEqual((await fs.readdir(keysDir)).sort(), ['cookie-keys.json', 'data-key', 'signing-keys.json']);
  });

  it('uses given cookie keys instead of writing a cookie key file', async () => {
    const keysDir = await newDir('cookies');
    const cookieKeys = ['k'.repeat(32), 'l'.repeat(32)];
    const material = await loadKeyMaterial({ keysDir, cookieKeys });
    assert.deepEqual(material.cookieKeys, cookieKeys);
    assert.deepEqual((await fs.readdir(keysDir)).sort(), ['data-key', 'signing-keys.json']);
  });

  it('signs with a loaded private key and verifies with its public JWK', async () => {
    const material = await loadKeyMaterial({ keysDir: await newDir('sign') });
    for (const key of material.signingKeys) {
      const jws = await new CompactSign(new TextEncoder().encode('payload'))
        .setProtectedHeader({ alg: key.alg, kid: key.kid })
        .sign(await importJWK(key, key.alg));
      const { payload } = await compactVerify(jws, await importJWK(toPublicJwk(key), key.alg));
      assert.equal(new TextDecoder().decode(payload), 'payload');
    }
  });

  it('refuses a key file without an RS256 key, without private parts, or that is not JSON', async () => {
    const material = await loadKeyMaterial({ keysDir: await newDir('source') });
    const [rsa, ec] = material.signingKeys;
    const cases: [string, string][] = [
      ['not JSON', '{"keys": ['],
      ['no keys', '{"keys": []}'],
      ['ES256 only', JSON.stringify({ keys: [ec] })],
      ['public keys only', JSON.stringify({ keys: [toPublicJwk(rsa!), toPublicJwk(ec!)] })],
      ['a key without kid', JSON.stringify({ keys: [{ ...rsa, kid: undefined }, ec] })],
      ['an HMAC key', JSON.stringify({ keys: [rsa, { kty: 'oct', k: 'c2VjcmV0', alg: 'HS256', kid: 'h', d: 'x' }] })],
    ];
    for (const [label, content] of cases) {
      const keysDir = await newDir(`bad-${label.replace(/\W+/g, '-')}`);
      await fs.mkdir(keysDir, { recursive: true });
      await fs.writeFile(path.join(keysDir, 'signing-keys.json'), content, { mode: 0o600 });
      await assert.rejects(loadKeyMaterial({ keysDir }), Error, label);
    }
  });
});

describe('toPublicJwk', () => {
  let keysDir: string;

  before(async () => {
    keysDir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-keys-pub-'));
  });

  after(async () => {
    await fs.rm(keysDir, { recursive: true, force: true });
  });

  it('strips every private part of RSA and EC keys and keeps the public ones', async () => {
    const material = await loadKeyMaterial({ keysDir });
    for (const key of material.signingKeys) {
      const publicKey = toPublicJwk(key);
      for (const field of privateFields) assert.equal(field in publicKey, false, `${key.alg} key has no "${field}"`);
      assert.equal(publicKey.kid, key.kid);
      assert.equal(publicKey.alg, key.alg);
      assert.equal(publicKey.kty, key.kty);
      if (key.kty === 'RSA') {
        assert.equal(publicKey.n, key.n);
        assert.equal(publicKey.e, key.e);
      } else {
        assert.equal(publicKey.crv, key.crv);
        assert.equal(publicKey.x, key.x);
        assert.equal(publicKey.y, key.y);
      }
      assert.equal(typeof key.d, 'string', 'the original is not modified');
    }
  });

  it('strips a symmetric key value too', () => {
    assert.deepEqual(toPublicJwk({ kty: 'oct', k: 'c2VjcmV0', kid: 'x' }), { kty: 'oct', kid: 'x' });
  });
});
