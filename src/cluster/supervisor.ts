// The node:cluster primary: keeps `workers` server processes on one port.
// - A worker that crashes after it reported ready is replaced after an exponential backoff
//   (restartBaseDelayMs doubling up to restartMaxDelayMs); the backoff starts again from the base
//   once a worker has served for stableAfterMs, so an occasional crash costs little and a crash loop
//   does not spin. Replacement timers keep the primary alive: it never exits by running out of work.
// - A worker that fails before it reports ready failed to start. A failure that a retry cannot fix
//   (a corrupt key file, a wrong password) ends the primary at once; other failures (a database
//   still coming up) are retried with the same backoff, until maxStartupFailures in a row while no
//   worker serves. Giving up prints one line naming the cause and exits non-zero.
// - Only a stop signal leads to exit code 0, once every worker has stopped.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log.js';
import { isWorkerMessage } from './worker-messages.js';

export interface SupervisorPolicy {
  readonly restartBaseDelayMs: number;
  readonly restartMaxDelayMs: number;
  readonly stableAfterMs: number;
  readonly maxStartupFailures: number;
  /** How long workers get to finish on a stop signal before the primary gives up on them. */
  readonly stopTimeoutMs: number;
}

const defaultSupervisorPolicy: SupervisorPolicy = {
  restartBaseDelayMs: 250,
  restartMaxDelayMs: 30_000,
  stableAfterMs: 60_000,
  maxStartupFailures: 5,
  stopTimeoutMs: 15_000,
};

interface WorkerState {
  readonly startedAt: number;
  readyAt: number | undefined;
  failure: { line: string; retryable: boolean } | undefined;
}

/** Prints the one line that ends a failed start, on stderr like a configuration error. */
function printFatal(line: string): void {
  process.stderr.write(`portcullis: could not start: ${line}\n`);
}

export function superviseWorkers(options: {
  workers: number;
  log: Logger;
  policy?: SupervisorPolicy;
}): void {
  const { workers, log } = options;
  const policy = options.policy ?? defaultSupervisorPolicy;
  const states = new Map<Worker, WorkerState>();
  const pendingForks = new Set<NodeJS.Timeout>();
  /** Exits since the backoff last started from the base. */
  let crashesInARow = 0;
  /** Start-up failures since a worker last reported ready. */
  let startupFailuresInARow = 0;
  let stopping = false;
  let givingUp = false;

  const serving = (): number => [...states.values()].filter((state) => state.readyAt !== undefined).length;

  const fork = (): void => {
    const worker = cluster.fork();
    states.set(worker, { startedAt: Date.now(), readyAt: undefined, failure: undefined });
    worker.on('message', (message: unknown) => {
      const state = states.get(worker);
      if (!state || !isWorkerMessage(message)) return;
      if (message.portcullis === 'ready') {
        state.readyAt = Date.now();
        startupFailuresInARow = 0;
      } else {
        state.failure = { line: message.line, retryable: message.retryable };
      }
    });
    log.info({ workerPid: worker.process.pid }, 'started worker');
  };

  const exitAll = (code: number): void => {
    for (const timer of pendingForks) clearTimeout(timer);
    pendingForks.clear();
    const alive = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    if (alive.length === 0) process.exit(code);
    for (const worker of alive) worker.process.kill('SIGTERM');
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(code);
    });
    setTimeout(() => process.exit(code === 0 ? 1 : code), policy.stopTimeoutMs).unref();
  };

  const giveUp = (line: string): void => {
    givingUp = true;
    printFatal(line);
    exitAll(1);
  };

  cluster.on('exit', (worker, exitCode, signal) => {
    const state = states.get(worker);
    states.delete(worker);
    if (stopping || givingUp || !state) return;
    const now = Date.now();
    if (state.readyAt === undefined) {
      startupFailuresInARow += 1;
      const line = state.failure?.line ?? `a worker exited during start-up (${signal ?? `exit code ${exitCode}`})`;
      if (state.failure && !state.failure.retryable && serving() === 0) {
        giveUp(line);
        return;
      }
      if (startupFailuresInARow >= policy.maxStartupFailures && serving() === 0) {
        giveUp(`${line} (${startupFailuresInARow} start-up failures in a row)`);
        return;
      }
      log.warn({ workerPid: worker.process.pid, exitCode, signal, cause: line }, 'worker could not start');
    } else if (now - state.readyAt >= policy.stableAfterMs) {
      // It served for a while: this crash does not belong to a loop.
      crashesInARow = 0;
    }
    const delay = Math.min(policy.restartMaxDelayMs, policy.restartBaseDelayMs * 2 ** crashesInARow);
    crashesInARow += 1;
    log.error({ workerPid: worker.process.pid, exitCode, signal, restartInMs: delay }, 'worker exited; starting another');
    // Not unref'd: a pending replacement must keep the primary alive even when no worker is.
    const timer = setTimeout(() => {
      pendingForks.delete(timer);
      if (!stopping && !givingUp) fork();
    }, delay);
    pendingForks.add(timer);
  });

  for (let i = 0; i < workers; i += 1) fork();
  log.info({ workers }, 'started workers');

  const stop = (signal: string): void => {
    if (stopping || givingUp) return;
    stopping = true;
    log.info({ signal }, 'stopping workers');
    exitAll(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
