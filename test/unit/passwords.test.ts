// Password hashing: argon2id at OWASP's minimum (m=19456 KiB, t=2, p=1), a decoy verification for
// unknown users, and re-hash detection for hashes made with other parameters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import argon2 from 'argon2';
import {
  hashPassword,
  passwordHashOptions,
  passwordLength,
  passwordNeedsRehash,
  verifyPassword,
} from '../../src/credentials/passwords.js';

describe('hashPassword', () => {
  it('produces argon2id with m=19456, t=2, p=1 in PHC string format', async () => {
    const hash = await hashPassword('correct horse battery staple');
    const match = /^\$argon2id\$v=19\$([a-z]=\d+(?:,[a-z]=\d+)*)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(hash);
    assert.ok(match, `PHC format: ${hash}`);
    // PHC parameters are name=value pairs; their order is the encoder's choice.
    const params = Object.fromEntries(match[1]!.split(',').map((pair) => pair.split('=') as [string, string]));
    assert.deepEqual(params, { m: '19456', t: '2', p: '1' });
    assert.ok(Buffer.from(match[2]!, 'base64').length >= 16, 'a salt of at least 16 bytes');
    assert.ok(Buffer.from(match[3]!, 'base64').length >= 32, 'a tag of at least 32 bytes');
    assert.ok(!hash.includes('correct horse'));
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    assert.notEqual(a, b);
  });

  it('exports the documented parameters and the NIST length bounds', () => {
    assert.equal(passwordHashOptions.type, argon2.argon2id);
    assert.equal(passwordHashOptions.memoryCost, 19_456);
    assert.equal(passwordHashOptions.timeCost, 2);
    assert.equal(passwordHashOptions.parallelism, 1);
    assert.deepEqual({ ...passwordLength }, { min: 8, max: 256 });
  });
});

describe('verifyPassword', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('correct horse battery staple');
    assert.equal(await verifyPassword(hash, 'correct horse battery staple'), true);
    assert.equal(await verifyPassword(hash, 'correct horse battery stapler'), false);
    assert.equal(await verifyPassword(hash, 'Correct horse battery staple'), false);
    assert.equal(await verifyPassword(hash, ''), false);
  });

  it('handles long and non-ASCII passwords', async () => {
    const long = 'ü'.repeat(256);
    const hash = await hashPassword(long);
    assert.equal(await verifyPassword(hash, long), true);
    assert.equal(await verifyPassword(hash, 'ü'.repeat(255)), false);
  });

  it('returns false for an unknown user (undefined hash) and still does the work of one verification', async () => {
    assert.equal(await verifyPassword(undefined, 'anything at all'), false);
    // The decoy is a real argon2id hash, so even its own password does not log anyone in.
    assert.equal(await verifyPassword(undefined, 'portcullis decoy password'), false);

    // Timing: a decoy verification costs about what a real one does (after the decoy is made).
    const hash = await hashPassword('a real password');
    const time = async (fn: () => Promise<unknown>) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 3; i += 1) await fn();
      return Number(process.hrtime.bigint() - start) / 3e6;
    };
    const known = await time(() => verifyPassword(hash, 'wrong password'));
    const unknown = await time(() => verifyPassword(undefined, 'wrong password'));
    assert.ok(unknown > known / 4, `unknown user ${unknown.toFixed(1)} ms vs known ${known.toFixed(1)} ms`);
  });

  it('returns false, not an exception, for a malformed stored hash', async () => {
    assert.equal(await verifyPassword('not a hash', 'whatever-password'), false);
    assert.equal(await verifyPassword('', 'whatever-password'), false);
    assert.equal(await verifyPassword('$argon2id$v=19$m=19456,t=2,p=1$broken', 'whatever-password'), false);
  });
});

describe('passwordNeedsRehash', () => {
  it('is false for a hash made with the current parameters', async () => {
    assert.equal(passwordNeedsRehash(await hashPassword('a password')), false);
  });

  it('is true for hashes made with other memory, time or parallelism parameters', async () => {
    const others = [
      { type: argon2.argon2id, memoryCost: 4096, timeCost: 2, parallelism: 1 },
      { type: argon2.argon2id, memoryCost: 65_536, timeCost: 3, parallelism: 4 },
      { type: argon2.argon2id, memoryCost: 19_456, timeCost: 1, parallelism: 1 },
      { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 2 },
    ] as const;
    for (const options of others) {
      const hash = await argon2.hash('a password', options);
      assert.equal(passwordNeedsRehash(hash), true, `needs a rehash: ${hash.split('$').slice(1, 4).join('$')}`);
      // Old hashes keep working until they are replaced.
      assert.equal(await verifyPassword(hash, 'a password'), true);
    }
  });

  it('is true for a hash of another argon2 variant (argon2i, argon2d) with the same costs', async () => {
    for (const type of [argon2.argon2i, argon2.argon2d] as const) {
      const hash = await argon2.hash('a password', { type, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
      assert.equal(await verifyPassword(hash, 'a password'), true);
      assert.equal(passwordNeedsRehash(hash), true, `${hash.split('$')[1]} must be re-hashed to argon2id`);
    }
  });
});
