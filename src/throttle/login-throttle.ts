// Brute-force protection of the login form: failures are counted per username+IP and per IP;
// from the third failure each attempt waits a little longer (progressive delay), and after the
// configured number of failures the pair (or the IP) is locked for LOGIN_LOCK_SECONDS.
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Throttles } from './throttles.js';

export type LoginGate = { allowed: true; delayMs: number } | { allowed: false; retryAfterSeconds: number };

const maxDelayMs = 4_000;

function userKey(username: string, ip: string): string {
  // Case-insensitive, as usernames are: "Alice" and "alice" share one counter. Hashed, so the
  // store holds neither usernames nor any character a key cannot hold.
  return `${crypto.createHash('sha256').update(username.toLowerCase()).digest('base64url')}|${ip}`;
}

export async function checkLoginAllowed(throttles: Throttles, username: string, ip: string): Promise<LoginGate> {
  const [byUser, byIp] = await Promise.all([
    throttles.loginFailuresByUser.get(userKey(username, ip)),
    throttles.loginFailuresByIp.get(ip),
  ]);
  const { loginMaxFailures, loginMaxFailuresPerIp } = throttles.settings;
  const locked = [
    byUser && byUser.consumedPoints >= loginMaxFailures ? byUser : undefined,
    byIp && byIp.consumedPoints >= loginMaxFailuresPerIp ? byIp : undefined,
  ].filter((result): result is RateLimiterRes => result !== undefined);
  if (locked.length) {
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...locked.map((r) => r.msBeforeNext)) / 1000)) };
  }
  const failures = byUser?.consumedPoints ?? 0;
  return { allowed: true, delayMs: failures >= 2 ? Math.min(250 * 2 ** (failures - 2), maxDelayMs) : 0 };
}

export async function waitBeforeLogin(gate: LoginGate): Promise<void> {
  if (gate.allowed && gate.delayMs > 0) await sleep(gate.delayMs);
}

/** Counts a failure; true when this failure locked the username+IP pair or the IP. */
export async function recordLoginFailure(throttles: Throttles, username: string, ip: string): Promise<boolean> {
  const results = await Promise.allSettled([
    throttles.loginFailuresByUser.consume(userKey(username, ip)),
    throttles.loginFailuresByIp.consume(ip),
  ]);
  let lockedNow = false;
  for (const result of results) {
    if (result.status === 'fulfilled') {
      if (result.value.remainingPoints === 0) lockedNow = true;
    } else if (result.reason instanceof RateLimiterRes) {
      lockedNow = true;
    } else {
      throw result.reason;
    }
  }
  return lockedNow;
}

export async function recordLoginSuccess(throttles: Throttles, username: string, ip: string): Promise<void> {
  await throttles.loginFailuresByUser.delete(userKey(username, ip));
}
