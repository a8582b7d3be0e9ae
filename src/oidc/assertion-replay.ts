// One-time use of client assertion (and DPoP proof) `jti`s across every instance, atomically
// (RFC 7523 §3 item 7). Used by the library's ReplayDetection (internals.ts) and by the client
// credentials fast path, so both consume from the same place and a `jti` spent on one is spent
// on the other.
import crypto from 'node:crypto';
import type { EphemeralStore } from '../stores/ephemeral/types.js';

/**
 * True when this (iss, jti) pair had not been seen and is now marked used until `exp` (seconds
 * since the epoch); false for a replay. Keyed on the pair, unambiguously: upstream hashes
 * `${iss}${jti}`, where ("ab", "c") and ("a", "bc") collide.
 */
export function consumeAssertionJti(store: EphemeralStore, iss: string, jti: string, exp: number): Promise<boolean> {
  const id = crypto.hash('sha256', JSON.stringify([iss, jti]), 'base64url');
  const ttl = Math.max(1, exp - Math.floor(Date.now() / 1000));
  return store.insertIfAbsent('ReplayDetection', id, { iss, jti: id }, ttl);
}
