// Load generation. HTTP request scenarios go through autocannon's programmatic API; latencies
// are taken from its per-response event at full precision (its own histogram rounds to whole
// milliseconds). Multi-request scenarios (the login flow) run as N async workers. Both stop by
// themselves after `seconds`, with a hard stop a little later should anything hang.
import autocannon from 'autocannon';

export interface LatencySummary {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  /** Wall time of the measured part, seconds. */
  seconds: number;
  /** Completed responses (or flows), whatever their status. */
  completed: number;
  /** 2xx responses (or successful flows). */
  ok: number;
  non2xx: number;
  /** Connection errors, timeouts, failed flows. */
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyMs: LatencySummary;
  /** The first non-2xx answer or error, to say what went wrong. */
  firstFailure?: string;
}

class Latencies {
  #values = new Float64Array(1 << 16);
  #length = 0;

  add(value: number): void {
    if (this.#length === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.#length++] = value;
  }

  summary(): LatencySummary {
    const sorted = this.#values.slice(0, this.#length).sort();
    const n = sorted.length;
    if (n === 0) return { mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const at = (q: number) => sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]!;
    let sum = 0;
    for (const value of sorted) sum += value;
    return { mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[n - 1]! };
  }
}

function assertLoopback(url: string): void {
  const { hostname } = new URL(url);
  if (hostname !== '127.0.0.1' && hostname !== 'localhost') throw new Error(`load goes to 127.0.0.1 only, not ${hostname}`);
}

export async function runAutocannon(options: {
  url: string;
  connections: number;
  seconds: number;
  requests: autocannon.Request[];
}): Promise<LoadResult> {
  assertLoopback(options.url);
  const latencies = new Latencies();
  const statusCodes: Record<string, number> = {};
  let firstFailure: string | undefined;
  // Keep the first non-2xx body: wrap each request's onResponse.
  const requests = options.requests.map((request) => {
    const inner = typeof request.onResponse === 'function' ? request.onResponse : undefined;
    return {
      ...request,
      onResponse(status: number, body: string, context: object, headers: autocannon.Request['headers']) {
        if ((status < 200 || status > 299) && firstFailure === undefined) firstFailure = `${status} ${body.slice(0, 300)}`;
        inner?.(status, body, context, headers);
      },
    };
  });
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.seconds,
        pipelining: 1,
        timeout: 10,
        requests,
        skipAggregateResult: true,
      },
      (error: unknown, done: autocannon.Result) => {
        clearTimeout(hardStop);
        if (error) reject(error instanceof Error ? error : new Error(typeof error === 'string' ? error : JSON.stringify(error)));
        else resolve(done);
      },
    );
    const hardStop = setTimeout(() => instance.stop(), (options.seconds + 15) * 1000);
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      latencies.add(responseTime);
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    });
    instance.on('reqError', (error: unknown) => {
      firstFailure ??= `request error: ${error instanceof Error ? error.message : String(error)}`;
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const completed = Object.values(statusCodes).reduce((sum, count) => sum + count, 0);
  const ok = Object.entries(statusCodes).reduce((sum, [code, count]) => sum + (code.startsWith('2') ? count : 0), 0);
  return {
    seconds,
    completed,
    ok,
    non2xx: completed - ok,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    latencyMs: latencies.summary(),
    ...(firstFailure === undefined ? {} : { firstFailure }),
  };
}

/**
 * `concurrency` async workers each running `task` back to back until `seconds` have passed (or
 * `maxTasks` were started); a task's duration is its latency, a throw is an error.
 */
export async function runWorkers(options: {
  concurrency: number;
  seconds: number;
  maxTasks?: number;
  task: (index: number) => Promise<void>;
}): Promise<LoadResult> {
  const latencies = new Latencies();
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const maxTasks = options.maxTasks ?? Number.MAX_SAFE_INTEGER;
  let next = 0;
  let ok = 0;
  let errors = 0;
  let firstFailure: string | undefined;
  const worker = async () => {
    while (performance.now() < deadline && next < maxTasks) {
      const index = next++;
      const begun = performance.now();
      try {
        await options.task(index);
        ok += 1;
        latencies.add(performance.now() - begun);
      } catch (error) {
        errors += 1;
        firstFailure ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    seconds,
    completed: ok + errors,
    ok,
    non2xx: 0,
    errors,
    timeouts: 0,
    statusCodes: {},
    latencyMs: latencies.summary(),
    ...(firstFailure === undefined ? {} : { firstFailure }),
  };
}
