// Polling for a condition another process (a server, a feed, a store) makes true in its own time.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls check every `everyMs` until it holds; fails naming `what` after withinMs. Resolves to the
 * time it took (ms), for tests that bound how fast something propagates.
 */
export async function until(what: string, check: () => boolean | Promise<boolean>, withinMs: number, everyMs = 50): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > withinMs) assert.fail(`${what}: not within ${withinMs} ms`);
    await sleep(everyMs);
  }
  return Date.now() - started;
}
