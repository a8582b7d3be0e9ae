// The cookie signer must sign exactly as keygrip (what Koa's cookies package uses with an array
// of keys), so cookies issued before a deploy stay valid, and verify with any configured key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Keygrip from 'keygrip';
import { createCookieSigner } from '../../src/oidc/config/cookie-signer.js';

describe('cookie signer', () => {
  const keys = ['first-cookie-key-0123456789abcdef', 'second-cookie-key-ünïcødé'];
  const reference = new Keygrip([...keys]);
  const samples = ['_session=abc', '_interaction=x.y-z_', '', 'é=ü; weird +/=', 'a'.repeat(5000)];

  it('signs as keygrip does with the first key', () => {
    const signer = createCookieSigner(keys);
    for (const data of samples) assert.equal(signer.sign(data), reference.sign(data));
  });

  it('finds the key that signed, and refuses anything else', () => {
    const signer = createCookieSigner(keys);
    const older = new Keygrip([keys[1]!]);
    for (const data of samples) {
      assert.equal(signer.index(data, reference.sign(data)), 0);
      assert.equal(signer.index(data, older.sign(data)), 1);
      assert.equal(signer.verify(data, older.sign(data)), true);
      assert.equal(signer.index(data, new Keygrip(['another key']).sign(data)), -1);
      assert.equal(signer.verify(data, ''), false);
      assert.equal(signer.verify(data, `${reference.sign(data)}x`), false);
      assert.equal(signer.verify(`${data}!`, reference.sign(data)), false);
    }
  });

  it('refuses to work without keys', () => {
    assert.throws(() => createCookieSigner([]));
  });
});
