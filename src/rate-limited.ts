// Reports a recurring problem at most once per interval, with how many repeats were held back, so
// a store that keeps refusing connections (each reconnect attempt fails) writes a line every few
// seconds instead of one per attempt.

export function rateLimited<T>(report: (event: T, suppressed: number) => void, intervalMs: number): (event: T) => void {
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (event) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      suppressed += 1;
      return;
    }
    last = now;
    report(event, suppressed);
    suppressed = 0;
  };
}
