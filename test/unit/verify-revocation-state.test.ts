// portcullis/verify's revocation state, fed the feed's events: millisecond comparisons, second
// precision failing closed for what lacks the precise time, and exchange lineage.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RevocationState } from '../../src/verify/revocation-state.js';
import { issuedAtMs } from '../../src/verify/token-format.js';

const second = 1_796_000_000;
const at = second * 1000 + 500;
const expires = second + 3600;

describe('portcullis/verify revocation state', () => {
  it('regression: revocation "before" had one-second granularity — a token of the same second issued after the event lives', () => {
    const state = new RevocationState();
    state.apply({ kind: 'client', value: 'c', revoked_at: second, revoked_at_ms: at, expires_at: expires });
    const token = (iatMs: number) => ({ jti: 'j', client_id: 'c', iat: Math.floor(iatMs / 1000), iat_ms: iatMs });
    assert.equal(state.isRevoked(token(at - 1)), true, 'a millisecond before');
    assert.equal(state.isRevoked(token(at)), true, 'in the very millisecond (fails closed)');
    assert.equal(state.isRevoked(token(at + 1)), false, 'a millisecond after, same second');
  });

  it('compares at second precision, failing closed, what lacks the precise time', () => {
    const state = new RevocationState();
    state.apply({ kind: 'sub', value: 'u', revoked_at: second, revoked_at_ms: at, expires_at: expires });
    // A token from before iat_ms existed counts as issued at the start of its second.
    assert.equal(state.isRevoked({ jti: 'j', sub: 'u', iat: second }), true);
    assert.equal(state.isRevoked({ jti: 'j', sub: 'u', iat: second + 1 }), false);
    // iat_ms outside the second iat names is not believed.
    assert.equal(state.isRevoked({ jti: 'j', sub: 'u', iat: second, iat_ms: at + 5000 }), true);
    assert.equal(issuedAtMs(second, second * 1000 + 999), second * 1000 + 999);
    assert.equal(issuedAtMs(second, 1.5), second * 1000);
    // An event from a server without revoked_at_ms covers its whole second.
    const legacy = new RevocationState();
    legacy.apply({ kind: 'sub', value: 'u', revoked_at: second, expires_at: expires });
    assert.equal(legacy.isRevoked({ jti: 'j', sub: 'u', iat: second, iat_ms: second * 1000 + 999 }), true);
    assert.equal(legacy.isRevoked({ jti: 'j', sub: 'u', iat: second + 1, iat_ms: (second + 1) * 1000 }), false);
  });

  it('regression: exchanged tokens outlived revocations of their source — an ancestor jti or client in exchanged_from revokes', () => {
    const state = new RevocationState();
    const token = {
      jti: 'leaf',
      sub: 'u',
      client_id: 'c2',
      iat: second,
      iat_ms: at,
      exchanged_from: [{ jti: 'middle', client_id: 'c1' }, { jti: 'root', client_id: 'c0' }],
    };
    assert.equal(state.isRevoked(token), false);
    state.apply({ kind: 'jti', value: 'root', revoked_at: second, revoked_at_ms: at, expires_at: expires });
    assert.equal(state.isRevoked(token), true, 'the root jti');
    const other = new RevocationState();
    other.apply({ kind: 'client', value: 'c0', revoked_at: second, revoked_at_ms: at + 1, expires_at: expires });
    assert.equal(other.isRevoked(token), true, 'the root client, revoked after the token was issued');
    assert.equal(other.isRevoked({ ...token, iat_ms: at + 2 }), false, 'issued after the client was revoked');
    assert.equal(other.isRevoked({ ...token, exchanged_from: 'nonsense' }), true, 'a lineage it cannot read');
  });
});
