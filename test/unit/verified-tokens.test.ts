import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessTokenClaims } from '../../src/tokens/claims.js';
import { VerifiedTokens } from '../../src/tokens/verified-tokens.js';

const claims = (jti: string, exp: number): AccessTokenClaims => ({ jti, iat: exp - 300, exp, sub: 'service' });

describe('verified token memo', () => {
  it('answers a token it was told about, and nothing else', () => {
    const memo = new VerifiedTokens(10);
    memo.remember('a.b.c', claims('one', 2_000));
    assert.equal(memo.get('a.b.c', 1_000, 5)?.jti, 'one');
    assert.equal(memo.get('a.b.d', 1_000, 5), undefined);
  });

  it('drops a token once it has expired, with the same clock tolerance as verification', () => {
    const memo = new VerifiedTokens(10);
    memo.remember('a.b.c', claims('one', 2_000));
    assert.equal(memo.get('a.b.c', 2_004, 5)?.jti, 'one');
    assert.equal(memo.get('a.b.c', 2_005, 5), undefined);
    assert.equal(memo.size, 0);
    // Gone for good: an earlier clock does not bring it back.
    assert.equal(memo.get('a.b.c', 1_000, 5), undefined);
  });

  it('keeps at most its capacity, forgetting the oldest first', () => {
    const memo = new VerifiedTokens(3);
    for (const name of ['t1', 't2', 't3', 't4']) memo.remember(name, claims(name, 2_000));
    assert.equal(memo.size, 3);
    assert.equal(memo.get('t1', 1_000, 5), undefined);
    assert.deepEqual(['t2', 't3', 't4'].map((name) => memo.get(name, 1_000, 5)?.jti), ['t2', 't3', 't4']);
  });
});
