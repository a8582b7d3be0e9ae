// One-time use of client assertion (and DPoP proof) `jti`s across every instance, atomically
// (RFC 7523 §3 item 7). Used by the library's ReplayDetection (internals.ts) and by the client
// credentials fast path, so both consume from the same place and a `jti` spent on one is spent
// on the other.
//
// A `jti` is also refused when its credential was issued before the replay store's current
// generation of markers began (stores/ephemeral/redis.ts): its marker may have been lost with
// Redis's data, so it may have been used already.
import crypto from 'node:crypto';
import type { EphemeralStore, OneTimeUse } from '../stores/ephemeral/types.js';

export interface AssertionTimes {
  /** CLIENT_ASSERTION_MAX_LIFETIME, seconds. */
  maxLifetime: number;
  /** Seconds of clock skew tolerated. */
  clockTolerance: number;
}

/**
 * When this client assertion was issued (ms since the epoch), as the replay store compares it with
 * the start of its marker generation. With `iat` (RFC 7519 §2 NumericDate; clients send whole
 * seconds): the last ms of the second it names. An assertion that says it was signed in the
 * second a generation began is therefore accepted; counting that second as before the generation
 * would refuse every assertion signed in the first second of each new store (a fresh start, or
 * right after a loss). What that admits: an assertion first used in the fraction of a second
 * between the start of that second and the loss, replayed after it. Without `iat`: our lifetime
 * cap (config/client-assertions.ts) admits the assertion from exp − maxLifetime − clockTolerance
 * on, so it may have been used since then; after a loss such assertions are refused until that
 * bound passes the new generation's start (up to maxLifetime + clockTolerance).
 */
export function assertionIssuedAtMs(claims: { iat?: unknown; exp: number }, times: AssertionTimes): number {
  if (typeof claims.iat === 'number' && Number.isFinite(claims.iat)) return Math.floor(claims.iat) * 1000 + 999;
  return unknownIssueTimeMs(claims.exp, times);
}

/**
 * For a caller that gives no issue time: the same bound from the marker's expiry. Conservative
 * for client assertions; a DPoP proof (when DPoP is enabled) must pass its own `iat` instead,
 * because the library accepts proofs whose `iat` lies up to 300 s either side of now.
 */
export function unknownIssueTimeMs(exp: number, times: AssertionTimes): number {
  return (exp - times.maxLifetime - times.clockTolerance) * 1000;
}

/**
 * 'consumed' when this (iss, jti) pair had not been seen and is now marked used until `exp`
 * (seconds since the epoch); 'replayed' for a replay; 'predates-store' when the credential was
 * issued (`issuedAtMs`) before the store's markers began. Keyed on the pair, unambiguously:
 * upstream hashes `${iss}${jti}`, where ("ab", "c") and ("a", "bc") collide.
 */
export function consumeAssertionJti(
  store: EphemeralStore,
  iss: string,
  jti: string,
  exp: number,
  issuedAtMs: number,
): Promise<OneTimeUse> {
  const id = crypto.hash('sha256', JSON.stringify([iss, jti]), 'base64url');
  const ttl = Math.max(1, exp - Math.floor(Date.now() / 1000));
  return store.consumeOnce('ReplayDetection', id, ttl, issuedAtMs);
}

// The library's ReplayDetection.unique(iss, jti, exp) is not told when the assertion was issued;
// its hook (assertJwtClientAuthClaimsAndHeader) sees the claims just before, in the same request
// (oidc-provider/lib/shared/jwt_client_auth.js). The hook leaves the issue time here and unique() takes it.
// Bounded, so entries that are never taken (a request that failed in between) cannot pile up.
const maxRemembered = 10_000;
const issueTimes = new Map<string, number>();
const pairKey = (iss: string, jti: string) => JSON.stringify([iss, jti]);

/**
 * Remembers when the assertion (iss, jti) was issued, for takeIssuedAtMs. Two requests with the
 * same pair at once keep the earlier time, so a mix-up can only make the check stricter.
 */
export function rememberIssuedAtMs(iss: string, jti: string, issuedAtMs: number): void {
  const key = pairKey(iss, jti);
  const known = issueTimes.get(key);
  issueTimes.delete(key);
  if (issueTimes.size >= maxRemembered) {
    const oldest = issueTimes.keys().next();
    if (!oldest.done) issueTimes.delete(oldest.value);
  }
  issueTimes.set(key, known === undefined ? issuedAtMs : Math.min(known, issuedAtMs));
}

/** The issue time rememberIssuedAtMs left for (iss, jti), once; undefined if none. */
export function takeIssuedAtMs(iss: string, jti: string): number | undefined {
  const key = pairKey(iss, jti);
  const issuedAtMs = issueTimes.get(key);
  issueTimes.delete(key);
  return issuedAtMs;
}
