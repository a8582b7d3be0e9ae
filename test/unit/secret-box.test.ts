// Secrets at rest: AES-256-GCM with a random IV; tampering and a wrong key are detected.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { createSecretBox } from '../../src/mfa/secret-box.js';

describe('secret box', () => {
  const box = createSecretBox(crypto.randomBytes(32));
  it('round-trips, never shows the plaintext, and differs every time', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP');
    assert.ok(!sealed.includes('JBSWY3DPEHPK3PXP'));
    assert.notEqual(box.seal('JBSWY3DPEHPK3PXP'), sealed);
    assert.equal(box.open(sealed), 'JBSWY3DPEHPK3PXP');
  });
  it('refuses tampered data and another key', () => {
    const sealed = box.seal('secret');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    raw[raw.length - 1]! ^= 1;
    assert.throws(() => box.open(`v1.${raw.toString('base64url')}`));
    assert.throws(() => createSecretBox(crypto.randomBytes(32)).open(sealed));
    assert.throws(() => createSecretBox(crypto.randomBytes(16)));
  });
});
