// Brute-force protection of the second factor (RFC 4226 §7.3, NIST SP 800-63B §5.2.2): every TOTP
// or recovery code reserves a point, before it is checked, on three counters:
// - per user (the sub, from every IP): MFA_MAX_FAILURES wrong codes lock the user's second factor
//   for LOGIN_LOCK_SECONDS; a progressive delay from the third;
// - per IP: the login per-IP counter, so a wrong code is a failed login from that address;
// - per interaction: after a few wrong codes the sign-in ends and the user starts over.
// A right code forgives the user's failures and gives the IP's point back.
import { mfaAttemptsPerInteraction, type Throttles } from './throttles.js';
import { progressiveDelayMs, refundAttempt, reserveAttempt, type Counter } from './attempt-reservation.js';

export type SecondFactorGate =
  /** lastInInteraction: a wrong code now ends the interaction. */
  | { allowed: true; delayMs: number; lastInInteraction: boolean; lastForUser: boolean }
  /** The user's second factor or the IP is locked: 429 with Retry-After. */
  | { allowed: false; locked: true; retryAfterSeconds: number }
  /** This interaction has had its wrong codes: it ends. */
  | { allowed: false; locked: false };

export interface SecondFactorAttempt {
  sub: string;
  ip: string;
  /** The interaction's uid. */
  interaction: string;
}

function counters(throttles: Throttles, attempt: SecondFactorAttempt): [Counter, Counter, Counter] {
  return [
    { limiter: throttles.mfaFailuresByUser, key: attempt.sub },
    { limiter: throttles.loginFailuresByIp, key: attempt.ip },
    { limiter: throttles.mfaAttemptsByInteraction, key: attempt.interaction },
  ];
}

export async function reserveSecondFactorAttempt(throttles: Throttles, attempt: SecondFactorAttempt): Promise<SecondFactorGate> {
  const reservation = await reserveAttempt(counters(throttles, attempt));
  if (!reservation.reserved) {
    const lockedCounter = reservation.refused.some((index) => index !== 2);
    return lockedCounter ? { allowed: false, locked: true, retryAfterSeconds: reservation.retryAfterSeconds } : { allowed: false, locked: false };
  }
  const [byUser, byIp, byInteraction] = reservation.results;
  return {
    allowed: true,
    delayMs: progressiveDelayMs(byUser!.consumedPoints),
    lastInInteraction: byInteraction!.consumedPoints >= mfaAttemptsPerInteraction,
    lastForUser: byUser!.remainingPoints === 0 || byIp!.remainingPoints === 0,
  };
}

/**
 * Seconds until the user's second factor takes codes again, or undefined if it does now (shown
 * before asking for a code that could not count). With every point spent the next code would be
 * refused; left alone, the counter expires after msBeforeNext (a refused attempt starts the
 * LOGIN_LOCK_SECONDS block).
 */
export async function secondFactorLockedFor(throttles: Throttles, sub: string): Promise<number | undefined> {
  const state = await throttles.mfaFailuresByUser.get(sub);
  if (!state || state.consumedPoints < throttles.settings.mfaMaxFailures) return undefined;
  return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
}

export async function settleSecondFactorSuccess(throttles: Throttles, attempt: SecondFactorAttempt): Promise<void> {
  const [byUser, byIp] = counters(throttles, attempt);
  await Promise.all([byUser.limiter.delete(byUser.key), refundAttempt(byIp)]);
}
