// "Try again in 15 minutes.": a lock's Retry-After (seconds) in words, rounded up so the page
// never promises less than the lock lasts.
function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

export function describeWait(seconds: number): string {
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 60) return plural(whole, 'second');
  if (whole < 60 * 60) return plural(Math.ceil(whole / 60), 'minute');
  return plural(Math.ceil(whole / 3600), 'hour');
}

/** What the login and second-factor pages need to say "Try again in 15 minutes." */
export function lockedFields(retryAfterSeconds: number): { retryAfterSeconds: number; retryAfter: string } {
  return { retryAfterSeconds, retryAfter: describeWait(retryAfterSeconds) };
}
