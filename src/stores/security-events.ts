// SQL for the audit trail.
import type { Queryable } from './database.js';

export interface SecurityEvent {
  type: string;
  outcome: 'success' | 'failure';
  clientId?: string | undefined;
  sub?: string | undefined;
  details?: Record<string, unknown>;
}

export async function insertSecurityEvent(db: Queryable, event: SecurityEvent): Promise<void> {
  await db.query('INSERT INTO security_events (type, outcome, client_id, sub, details) VALUES ($1, $2, $3, $4, $5)', [
    event.type,
    event.outcome,
    event.clientId ?? null,
    event.sub ?? null,
    JSON.stringify(event.details ?? {}),
  ]);
}
