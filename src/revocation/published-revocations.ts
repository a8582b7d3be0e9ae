// Revocation state plus its feed: every revocation is recorded in the store (so this server
// refuses the token at once) and appended to the event log that resource servers stream.
// If the log cannot be written the call fails, so the caller retries rather than believing a
// revocation reached every API when it did not.
import type { Database } from '../stores/database.js';
import { appendRevocationEvent, purgeExpiredRevocationEvents } from '../stores/revocation-events.js';
import type { RevocationStore } from '../stores/revocations/types.js';

const purgeIntervalMs = 10 * 60_000;

// The feed serves resource servers, which only see access tokens: those live at most a day
// (an API's TTL is capped at 86 400 s), so feed events need not outlive that.
const feedEventLifetime = 24 * 60 * 60 + 60;

export function publishRevocations(store: RevocationStore, db: Database): RevocationStore {
  const timer = setInterval(() => void purgeExpiredRevocationEvents(db).catch(() => {}), purgeIntervalMs);
  timer.unref();
  return {
    async revokeToken(jti, expiresAt) {
      await store.revokeToken(jti, expiresAt);
      await appendRevocationEvent(db, { kind: 'jti', value: jti, revokedAt: Math.floor(Date.now() / 1000), expiresAt });
    },
    async revokeIssuedBefore(kind, id, at, lifetime) {
      await store.revokeIssuedBefore(kind, id, at, lifetime);
      const expiresAt = Math.floor(Date.now() / 1000) + Math.min(lifetime, feedEventLifetime);
      await appendRevocationEvent(db, { kind, value: id, revokedAt: at, expiresAt });
    },
    isRevoked: (token) => store.isRevoked(token),
    async close() {
      clearInterval(timer);
      await store.close();
    },
  };
}
