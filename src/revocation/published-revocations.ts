// Revocation state plus its feed: every revocation is recorded in the store (so this server
// refuses the token at once) and appended to the event log that resource servers stream.
// If the log cannot be written the call fails, so the caller retries rather than believing a
// revocation reached every API when it did not.
//
// A "revoked before" mark revokes what was issued at or before its millisecond. The mark is set
// a little ahead of the moment asked for (revocationClockMarginMs), and the call returns only
// once the clock has passed the mark, so a token issued after the revocation answered (on this
// instance, or on any whose clock is within the margin: README "Clocks") is issued later than the
// mark and lives, while everything issued before it is dead, even on an instance whose clock runs
// up to the margin ahead of this one's. Seconds of granularity used to absorb such skew by
// accident (and revoked the next tokens of the same second with it); the margin does it on purpose.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../stores/database.js';
import { appendRevocationEvent, purgeExpiredRevocationEvents } from '../stores/revocation-events.js';
import type { RevocationStore } from '../stores/revocations/types.js';

const purgeIntervalMs = 10 * 60_000;

// The feed serves resource servers, which only see access tokens: those live at most a day
// (an API's TTL is capped at 86 400 s), so feed events need not outlive that.
const feedEventLifetime = 24 * 60 * 60 + 60;

/**
 * Milliseconds a "revoked before" mark is set ahead of the moment of revocation: clock skew
 * between instances up to this much fails closed (a token issued elsewhere just before the
 * revocation, stamped by a clock running ahead, is still covered). Each revocation answers this
 * much later; tokens issued in that window are revoked too (the client asks again).
 */
export const revocationClockMarginMs = 100;

/** Resolves once Date.now() is past `at` (ms). */
export async function passMillisecond(at: number): Promise<void> {
  while (Date.now() <= at) await sleep(1);
}

export function publishRevocations(store: RevocationStore, db: Database): RevocationStore {
  const timer = setInterval(() => void purgeExpiredRevocationEvents(db).catch(() => {}), purgeIntervalMs);
  timer.unref();
  return {
    async revokeToken(jti, expiresAt) {
      await store.revokeToken(jti, expiresAt);
      await appendRevocationEvent(db, { kind: 'jti', value: jti, revokedAt: Date.now(), expiresAt });
    },
    async revokeIssuedBefore(kind, id, at, lifetime) {
      const mark = at + revocationClockMarginMs;
      await store.revokeIssuedBefore(kind, id, mark, lifetime);
      const expiresAt = Math.floor(Date.now() / 1000) + Math.min(lifetime, feedEventLifetime);
      await appendRevocationEvent(db, { kind, value: id, revokedAt: mark, expiresAt });
      await passMillisecond(mark);
    },
    isRevoked: (token) => store.isRevoked(token),
    async close() {
      clearInterval(timer);
      await store.close();
    },
  };
}
