// Reserving an attempt on several counters at once, before the slow check it guards (argon2, a
// TOTP code). Each counter's consume is one atomic operation in its store (Redis Lua INCRBY,
// Postgres INSERT … ON CONFLICT DO UPDATE … RETURNING, or a synchronous map update in memory), so
// of N parallel attempts at most `points` get a point; the rest are refused before any check runs.
// Reading the counter first and recording the failure after the check (the old way) let every
// parallel request pass the same reading.
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface Counter {
  readonly limiter: RateLimiterAbstract;
  readonly key: string;
}

export type Reservation =
  | { reserved: true; results: RateLimiterRes[] }
  /** refused: the counters (by index) that had no point left; retryAfterSeconds: the longest wait. */
  | { reserved: false; refused: number[]; retryAfterSeconds: number };

function secondsUntil(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Gives one point back: the attempt it was reserved for did not fail (or never ran). */
export async function refundAttempt(counter: Counter): Promise<void> {
  await counter.limiter.reward(counter.key, 1);
}

/**
 * Takes one point from every counter. If any counter is spent, the attempt is refused and the
 * points taken from the others are given back (the attempt never happens, so it must not count).
 * A store error fails closed: it is thrown (callers answer 503), after the same give-back.
 */
export async function reserveAttempt(counters: readonly Counter[]): Promise<Reservation> {
  const settled = await Promise.allSettled(counters.map((counter) => counter.limiter.consume(counter.key)));
  const refused: number[] = [];
  let storeError: unknown;
  let waitMs = 0;
  settled.forEach((outcome, index) => {
    if (outcome.status === 'fulfilled') return;
    if (outcome.reason instanceof RateLimiterRes) {
      refused.push(index);
      waitMs = Math.max(waitMs, outcome.reason.msBeforeNext);
    } else {
      storeError ??= outcome.reason;
    }
  });
  if (refused.length === 0 && storeError === undefined) {
    return { reserved: true, results: settled.map((outcome) => (outcome as PromiseFulfilledResult<RateLimiterRes>).value) };
  }
  await Promise.allSettled(
    settled.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [refundAttempt(counters[index]!)] : [])),
  );
  if (storeError !== undefined) throw storeError;
  return { reserved: false, refused, retryAfterSeconds: secondsUntil(waitMs) };
}

const maxDelayMs = 4_000;

/**
 * The progressive delay (NIST SP 800-63B §5.2.2 allows delays as a rate limit): none for the first
 * two failures, then 250 ms doubling up to 4 s. `consumed` counts this attempt's own point.
 */
export function progressiveDelayMs(consumed: number): number {
  const failuresBefore = consumed - 1;
  return failuresBefore >= 2 ? Math.min(250 * 2 ** (failuresBefore - 2), maxDelayMs) : 0;
}
