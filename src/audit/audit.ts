// Security events go to Postgres (the audit trail) and to the log, in one call. A failure to
// write the trail is logged loudly but does not turn the event's own request into a 500.
import type { Logger } from '../log.js';
import type { Queryable } from '../stores/database.js';
import { insertSecurityEvent, type SecurityEvent } from '../stores/security-events.js';

export interface Audit {
  record(event: SecurityEvent): Promise<void>;
}

export function createAudit(deps: { db: Queryable; log: Logger; onEvent?: (event: SecurityEvent) => void }): Audit {
  return {
    async record(event) {
      deps.onEvent?.(event);
      const level = event.outcome === 'failure' ? 'warn' : 'info';
      deps.log[level]({ event: event.type, outcome: event.outcome, client_id: event.clientId, sub: event.sub, ...event.details }, 'security event');
      try {
        await insertSecurityEvent(deps.db, event);
      } catch (error) {
        deps.log.error({ err: error, event: event.type }, 'could not write the audit trail');
      }
    },
  };
}
