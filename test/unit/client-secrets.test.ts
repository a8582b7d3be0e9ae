// Server-generated client secrets: 32 bytes from the CSPRNG in base64url, stored as a SHA-256
// digest and compared in constant time (docs/DESIGN.md "Stack").
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import {
  clientSecretMatches,
  digestClientSecret,
  generateClientId,
  generateClientSecret,
} from '../../src/credentials/client-secrets.js';

describe('generateClientSecret', () => {
  it('is 32 random bytes in unpadded base64url (43 characters, 256 bits)', () => {
    const secret = generateClientSecret();
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    const bytes = Buffer.from(secret, 'base64url');
    assert.equal(bytes.length, 32);
    assert.equal(bytes.toString('base64url'), secret, 'canonical encoding');
  });

  it('never repeats and looks uniformly random', () => {
    const count = 2000;
    const secrets = Array.from({ length: count }, generateClientSecret);
    assert.equal(new Set(secrets).size, count);

    // Bit balance over 2000 * 256 bits: expected 0.5, standard deviation ~0.001.
    let ones = 0;
    const byteCounts = new Array<number>(256).fill(0);
    for (const secret of secrets) {
      for (const byte of Buffer.from(secret, 'base64url')) {
        byteCounts[byte]! += 1;
        for (let bit = byte; bit; bit >>= 1) ones += bit & 1;
      }
    }
    const ratio = ones / (count * 256);
    assert.ok(ratio > 0.49 && ratio < 0.51, `bit ratio ${ratio}`);
    // Every byte value shows up (64 000 bytes over 256 values: ~250 each).
    assert.ok(byteCounts.every((n) => n > 150 && n < 350), 'byte values are spread evenly');
    // All 64 base64url characters appear in the first 42 positions (the 43rd carries 4 bits only).
    const alphabet = new Set(secrets.flatMap((secret) => [...secret.slice(0, 42)]));
    assert.equal(alphabet.size, 64);
  });
});

describe('digestClientSecret / clientSecretMatches', () => {
  it('stores a hex SHA-256 digest, not the secret', () => {
    const secret = generateClientSecret();
    const digest = digestClientSecret(secret);
    assert.match(digest, /^[0-9a-f]{64}$/);
    assert.equal(digest, crypto.createHash('sha256').update(secret).digest('hex'));
    assert.ok(!digest.includes(secret));
  });

  it('matches the right secret and refuses every other', () => {
    const secret = generateClientSecret();
    const digest = digestClientSecret(secret);
    assert.equal(clientSecretMatches(secret, digest), true);
    assert.equal(clientSecretMatches(generateClientSecret(), digest), false);
    assert.equal(clientSecretMatches(`${secret}x`, digest), false);
    assert.equal(clientSecretMatches(secret.slice(0, -1), digest), false);
    assert.equal(clientSecretMatches(secret.toUpperCase(), digest), false);
    assert.equal(clientSecretMatches('', digest), false);
  });

  it('never matches the digest itself, a missing digest, or a malformed one', () => {
    const secret = generateClientSecret();
    const digest = digestClientSecret(secret);
    assert.equal(clientSecretMatches(digest, digest), false, 'presenting the stored digest does not work');
    assert.equal(clientSecretMatches(secret, undefined), false);
    assert.equal(clientSecretMatches(secret, ''), false);
    assert.equal(clientSecretMatches(secret, 'not-hex'), false);
    assert.equal(clientSecretMatches(secret, digest.slice(0, 32)), false);
  });

  it('handles non-ASCII secrets as UTF-8', () => {
    const secret = 'pässwörd-🔑-секрет';
    assert.equal(clientSecretMatches(secret, digestClientSecret(secret)), true);
    assert.equal(clientSecretMatches(secret.normalize('NFD'), digestClientSecret(secret)), false);
  });
});

describe('generateClientId', () => {
  it('is 128 random bits in base64url and unique', () => {
    const ids = Array.from({ length: 1000 }, generateClientId);
    for (const id of ids) {
      assert.match(id, /^[A-Za-z0-9_-]{22}$/);
      assert.equal(Buffer.from(id, 'base64url').length, 16);
    }
    assert.equal(new Set(ids).size, ids.length);
  });
});
