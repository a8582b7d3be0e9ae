// Security events go to Postgres (the audit trail) and to the log, in one call. A failure to
// write the trail is logged loudly but does not turn the event's own request into a 500.
//
// Writes are grouped: while one INSERT is in flight, events recorded meanwhile wait and go
// together in the next one. record() resolves only once its own event is stored, so nothing is
// acknowledged before it is in the trail, and an event alone is written at once; under load one
// round trip carries many events instead of one each (token exchange and logins record one per
// request).
import type { Logger } from '../log.js';
import type { Queryable } from '../stores/database.js';
import { insertSecurityEvents, type SecurityEvent } from '../stores/security-events.js';

export interface Audit {
  record(event: SecurityEvent): Promise<void>;
}

/** Most events in one INSERT (a bound on the statement's size, not a wait). */
const maxEventsPerWrite = 500;

interface Pending {
  event: SecurityEvent;
  done(error?: unknown): void;
}

function createGroupWriter(db: Queryable): (event: SecurityEvent) => Promise<void> {
  const queue: Pending[] = [];
  let writing = false;
  async function writeEach(batch: readonly Pending[]): Promise<void> {
    for (const pending of batch) {
      try {
        await insertSecurityEvents(db, [pending.event]);
        pending.done();
      } catch (error) {
        pending.done(error);
      }
    }
  }
  async function drain(): Promise<void> {
    writing = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, maxEventsPerWrite);
      try {
        await insertSecurityEvents(db, batch.map((pending) => pending.event));
        for (const pending of batch) pending.done();
      } catch (error) {
        // One event the database refuses must not take the others with it: write them singly.
        if (batch.length === 1) batch[0]!.done(error);
        else await writeEach(batch);
      }
    }
    writing = false;
  }
  return (event) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ event, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (!writing) void drain();
    });
}

/**
 * Successes that happen on every hop of a call chain: all of them are in the trail
 * (GET /admin/events), and a redacted log line each would cost a token exchange about 8% of its
 * CPU, so they log at debug. Their failures log at warn like every other.
 */
const routineSuccesses = new Set(['token_exchange', 'txn_token']);

export function createAudit(deps: { db: Queryable; log: Logger; onEvent?: (event: SecurityEvent) => void }): Audit {
  const write = createGroupWriter(deps.db);
  return {
    async record(event) {
      deps.onEvent?.(event);
      const level = event.outcome === 'failure' ? 'warn' : routineSuccesses.has(event.type) ? 'debug' : 'info';
      deps.log[level]({ event: event.type, outcome: event.outcome, client_id: event.clientId, sub: event.sub, ...event.details }, 'security event');
      try {
        await write(event);
      } catch (error) {
        deps.log.error({ err: error, event: event.type }, 'could not write the audit trail');
      }
    },
  };
}
