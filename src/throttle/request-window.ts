// Requests per key in fixed windows, counted in this process's memory and synchronously: the
// token endpoints check it on every request, so it must cost a Map lookup, not a promise chain.
// All keys share the window boundaries; the map is emptied when a window ends, so it never
// holds more keys than requests arrived in one window.

export class RequestWindow {
  readonly #counts = new Map<string, number>();
  #endsAt = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request for `key`: 0 when it is within the limit, else ms until the window ends. */
  take(key: string): number {
    const now = this.now();
    if (now >= this.#endsAt) {
      this.#counts.clear();
      this.#endsAt = now + this.windowMs;
    }
    const count = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, count);
    return count > this.limit ? this.#endsAt - now : 0;
  }
}
