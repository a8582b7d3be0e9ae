// Revocation state plus its feed: every revocation is recorded in the store (so this server
// refuses the token at once) and appended to the event log that resource servers stream.
// If the log cannot be written the call fails, so the caller retries rather than believing a
// revocation reached every API when it did not.
//
// A "revoked before" mark revokes what was issued at or before its millisecond. The call returns
// only once the clock has passed that millisecond, so a token issued after the revocation
// answered (on this instance, or on any sharing its clock: README "Clocks") is issued later than
// the mark and lives, while everything issued before it is dead.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../stores/database.js';
import { appendRevocationEvent, purgeExpiredRevocationEvents } from '../stores/revocation-events.js';
import type { RevocationStore } from '../stores/revocations/types.js';

const purgeIntervalMs = 10 * 60_000;

// The feed serves resource servers, which only see access tokens: those live at most a day
// (an API's TTL is capped at 86 400 s), so feed events need not outlive that.
const feedEventLifetime = 24 * 60 * 60 + 60;

/** Resolves once Date.now() is past `at` (ms): at once, unless the writes took under a millisecond. */
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
      await store.revokeIssuedBefore(kind, id, at, lifetime);
      const expiresAt = Math.floor(Date.now() / 1000) + Math.min(lifetime, feedEventLifetime);
      await appendRevocationEvent(db, { kind, value: id, revokedAt: at, expiresAt });
      await passMillisecond(at);
    },
    isRevoked: (token) => store.isRevoked(token),
    async close() {
      clearInterval(timer);
      await store.close();
    },
  };
}
