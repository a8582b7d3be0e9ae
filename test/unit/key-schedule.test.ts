// Staged key rotation as a pure schedule (src/keys/key-schedule.ts): a new key is published at
// once and signs only from its `use_from`; the key it replaces stops signing then and stays
// published until every token it signed may have expired (longestSignedLifetime). Real keys,
// real times: the phase at each boundary and one second either side of it.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { generateSigningKey, type SigningKey } from '../../src/keys/keystore.js';
import { keyPhase, longestSignedLifetime, planRotation, type KeyPhase, type ScheduledKey } from '../../src/keys/key-schedule.js';

const privateFields = ['d', 'p', 'q', 'dp', 'dq', 'qi'];
const t0 = 1_700_000_000;
const delay = 300;

const statusOf = (phase: KeyPhase) => Object.fromEntries(phase.published.map((key) => [key.kid, key.status]));

describe('key schedule (keyPhase, planRotation)', () => {
  /** Three generations of keys, one RS256 and one ES256 each. */
  const generations: [SigningKey, SigningKey][] = [];

  before(async () => {
    for (let index = 0; index < 3; index += 1) generations.push([await generateSigningKey('RS256'), await generateSigningKey('ES256')]);
  });

  const [rs, es] = [0, 1].map((column) => (generation: number) => generations[generation]![column]!) as [
    (generation: number) => SigningKey,
    (generation: number) => SigningKey,
  ];

  it('first keys (no use_from): both sign, RS256 first, published without private parts, nothing scheduled', () => {
    const phase = keyPhase([es(0), rs(0)], t0);
    assert.deepEqual(phase.signers, { RS256: rs(0).kid, ES256: es(0).kid });
    // oidc-provider signs ID tokens with the first key of the client's algorithm: RS256 first.
    assert.deepEqual(phase.providerKeys.map((key) => key.kid), [rs(0).kid, es(0).kid]);
    assert.equal(phase.providerKeys[0]!.d, rs(0).d, 'the provider gets the private key');
    assert.deepEqual(statusOf(phase), { [rs(0).kid]: 'active', [es(0).kid]: 'active' });
    for (const key of phase.published) for (const field of privateFields) assert.equal(key[field as keyof typeof key], undefined, `${key.kid}.${field}`);
    assert.equal(phase.nextChange, undefined);
  });

  it('a key of either algorithm missing: refused, naming the algorithm', () => {
    assert.throws(() => keyPhase([rs(0)], t0), /no ES256 signing key/);
    assert.throws(() => keyPhase([es(0)], t0), /no RS256 signing key/);
  });

  it('a rotation publishes the new keys at once and lets them sign from use_from, the old ones retire for the longest token lifetime', () => {
    const rotated = planRotation([rs(0), es(0)], generations[1]!, t0, delay);
    assert.deepEqual(
      rotated.map((key) => [key.kid, key.use_from]),
      [
        [rs(0).kid, undefined],
        [es(0).kid, undefined],
        [rs(1).kid, t0 + delay],
        [es(1).kid, t0 + delay],
      ],
    );

    // Before use_from: the old keys sign, the new ones are published as next.
    const pending = keyPhase(rotated, t0 + delay - 1);
    assert.deepEqual(pending.signers, { RS256: rs(0).kid, ES256: es(0).kid });
    assert.deepEqual(statusOf(pending), { [rs(0).kid]: 'active', [es(0).kid]: 'active', [rs(1).kid]: 'next', [es(1).kid]: 'next' });
    assert.equal(pending.nextChange, t0 + delay);
    // The signers first, so the provider signs with them; the published next keys follow.
    assert.deepEqual(pending.providerKeys.map((key) => key.kid), [rs(0).kid, es(0).kid, rs(1).kid, es(1).kid]);
    assert.ok(pending.providerKeys.every((key) => !('use_from' in key)), 'the schedule is ours, not the provider\'s');

    // From use_from (inclusive) the new keys sign; the old ones are published until every token
    // they signed has expired.
    const retiredAt = t0 + delay + longestSignedLifetime;
    for (const now of [t0 + delay, retiredAt - 1]) {
      const switched = keyPhase(rotated, now);
      assert.deepEqual(switched.signers, { RS256: rs(1).kid, ES256: es(1).kid }, `at ${now}`);
      assert.deepEqual(statusOf(switched), { [rs(1).kid]: 'active', [es(1).kid]: 'active', [rs(0).kid]: 'retiring', [es(0).kid]: 'retiring' });
      assert.deepEqual(
        switched.published.filter((key) => key.status === 'retiring').map((key) => key.published_until),
        [retiredAt, retiredAt],
      );
      assert.equal(switched.nextChange, retiredAt);
      assert.deepEqual(switched.providerKeys.map((key) => key.kid), [rs(1).kid, es(1).kid, rs(0).kid, es(0).kid]);
    }

    const settled = keyPhase(rotated, retiredAt);
    assert.deepEqual(statusOf(settled), { [rs(1).kid]: 'active', [es(1).kid]: 'active' });
    assert.deepEqual(settled.providerKeys.map((key) => key.kid), [rs(1).kid, es(1).kid]);
    assert.equal(settled.nextChange, undefined);

    // A later rotation drops the keys no longer published and keeps the rest.
    const again = planRotation(rotated, generations[2]!, retiredAt, delay);
    assert.deepEqual(
      again.map((key) => key.kid),
      [rs(1).kid, es(1).kid, rs(2).kid, es(2).kid],
    );
  });

  it('a second rotation before the first has settled: each replaced key retires from when its successor started', () => {
    const first = planRotation([rs(0), es(0)], generations[1]!, t0, delay);
    const secondAt = t0 + delay + 100;
    const second = planRotation(first, generations[2]!, secondAt, delay);
    assert.equal(second.length, 6, 'the first generation is still published');
    const phase = keyPhase(second, secondAt + delay);
    assert.deepEqual(phase.signers, { RS256: rs(2).kid, ES256: es(2).kid });
    const until = Object.fromEntries(phase.published.map((key) => [key.kid, [key.status, key.published_until]]));
    assert.deepEqual(until[rs(0).kid], ['retiring', t0 + delay + longestSignedLifetime]);
    assert.deepEqual(until[rs(1).kid], ['retiring', secondAt + delay + longestSignedLifetime]);
    assert.deepEqual(until[es(1).kid], ['retiring', secondAt + delay + longestSignedLifetime]);
    assert.equal(phase.nextChange, t0 + delay + longestSignedLifetime, 'the earliest change is the first generation leaving');
  });

  it('the phase does not depend on the order the keys are stored in', () => {
    const keys: ScheduledKey[] = planRotation(planRotation([rs(0), es(0)], generations[1]!, t0, delay), generations[2]!, t0 + delay + 50, delay);
    const times = [t0, t0 + delay, t0 + delay + 60, t0 + 2 * delay + 50, t0 + 2 * delay + 50 + longestSignedLifetime];
    fc.assert(
      // Within one algorithm the keys are ordered by use_from, so even the order is the same.
      fc.property(fc.shuffledSubarray(keys, { minLength: keys.length }), fc.constantFrom(...times), (shuffled, now) => {
        assert.deepEqual(keyPhase(shuffled, now), keyPhase(keys, now));
      }),
      { numRuns: 100, seed: 16 },
    );
  });
});
