// Brute-force protection of the password form: attempts are counted per username+IP and per IP.
// Each attempt reserves its point BEFORE argon2 runs (attempt-reservation.ts), so parallel
// guesses cannot all pass one reading of the counter; a correct password gives the points back.
// From the third failure each attempt waits a little longer (progressive delay), and an attempt
// beyond the configured number of failures is refused and locks the pair (or the IP) for
// LOGIN_LOCK_SECONDS.
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { normalizeUsername } from '../credentials/usernames.js';
import { progressiveDelayMs, refundAttempt, reserveAttempt, type Counter } from './attempt-reservation.js';
import type { Throttles } from './throttles.js';

export type LoginGate =
  /** lastAttempt: this attempt took the last point of a counter; if it fails, the lock is on. */
  | { allowed: true; delayMs: number; lastAttempt: boolean }
  | { allowed: false; retryAfterSeconds: number };

function userKey(username: string, ip: string): string {
  // The one normalised form of a username (credentials/usernames.ts), the same the lookup uses:
  // "Alice", "ALICE" and a fullwidth "Ａｌｉｃｅ" share one counter. Hashed, so the store holds
  // neither usernames nor any character a key cannot hold.
  return `${crypto.createHash('sha256').update(normalizeUsername(username)).digest('base64url')}|${ip}`;
}

function loginCounters(throttles: Throttles, username: string, ip: string): [Counter, Counter] {
  return [
    { limiter: throttles.loginFailuresByUser, key: userKey(username, ip) },
    { limiter: throttles.loginFailuresByIp, key: ip },
  ];
}

/** Reserves one password attempt for this username and IP, or says how long to wait. */
export async function reserveLoginAttempt(throttles: Throttles, username: string, ip: string): Promise<LoginGate> {
  const reservation = await reserveAttempt(loginCounters(throttles, username, ip));
  if (!reservation.reserved) return { allowed: false, retryAfterSeconds: reservation.retryAfterSeconds };
  const [byUser] = reservation.results;
  return {
    allowed: true,
    delayMs: progressiveDelayMs(byUser!.consumedPoints),
    lastAttempt: reservation.results.some((result) => result.remainingPoints === 0),
  };
}

export async function waitBeforeAttempt(gate: { allowed: boolean; delayMs?: number }): Promise<void> {
  if (gate.allowed && gate.delayMs) await sleep(gate.delayMs);
}

/** The password was right: the pair's failures are forgiven and the IP's point is given back. */
export async function settleLoginSuccess(throttles: Throttles, username: string, ip: string): Promise<void> {
  const [byUser, byIp] = loginCounters(throttles, username, ip);
  await Promise.all([byUser.limiter.delete(byUser.key), refundAttempt(byIp)]);
}
