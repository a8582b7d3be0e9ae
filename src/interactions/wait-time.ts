// "Try again in 15 minutes.": a lock's Retry-After (seconds) in words, rounded up so the page
// never promises less than the lock lasts.
import type { Context } from 'koa';
import { tooManyRequests } from '../http/errors.js';

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

export function describeWait(seconds: number): string {
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 60) return plural(whole, 'second');
  if (whole < 60 * 60) return plural(Math.ceil(whole / 60), 'minute');
  return plural(Math.ceil(whole / 3600), 'hour');
}

/**
 * A form shown again because its attempts are locked: 429 with Retry-After (RFC 6585 §4, RFC 9110
 * §10.2.3), the status and header tooManyRequests (http/errors.ts) gives the JSON endpoints.
 */
export function markLocked(ctx: Context, retryAfterSeconds: number): void {
  const { status, headers } = tooManyRequests(retryAfterSeconds);
  ctx.status = status;
  ctx.set(headers);
}

/** What the login and second-factor pages need to say "Try again in 15 minutes." */
export function lockedFields(retryAfterSeconds: number): { retryAfterSeconds: number; retryAfter: string } {
  return { retryAfterSeconds, retryAfter: describeWait(retryAfterSeconds) };
}
