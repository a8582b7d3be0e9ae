// SQL for the audit trail.
import type { Queryable } from './database.js';

export interface SecurityEvent {
  type: string;
  outcome: 'success' | 'failure';
  clientId?: string | undefined;
  sub?: string | undefined;
  details?: Record<string, unknown>;
}

/** Any number of events in one statement, stored in the order given. */
export async function insertSecurityEvents(db: Queryable, events: readonly SecurityEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `INSERT INTO security_events (type, outcome, client_id, sub, details)
     SELECT type, outcome, client_id, sub, details
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
            WITH ORDINALITY AS e(type, outcome, client_id, sub, details, n)
      ORDER BY n`,
    [
      events.map((event) => event.type),
      events.map((event) => event.outcome),
      events.map((event) => event.clientId ?? null),
      events.map((event) => event.sub ?? null),
      events.map((event) => JSON.stringify(event.details ?? {})),
    ],
  );
}

export interface SecurityEventRecord extends SecurityEvent {
  id: number;
  occurredAt: Date;
}

export interface SecurityEventFilter {
  type?: string | undefined;
  clientId?: string | undefined;
  sub?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Events older than this id (keyset pagination, newest first). */
  before?: number | undefined;
  limit: number;
}

interface SecurityEventRow {
  id: number;
  occurred_at: Date;
  type: string;
  outcome: 'success' | 'failure';
  client_id: string | null;
  sub: string | null;
  details: Record<string, unknown>;
}

/** Newest first. Every filter is optional; NULL parameters match everything. */
export async function listSecurityEvents(db: Queryable, filter: SecurityEventFilter): Promise<SecurityEventRecord[]> {
  const rows = await db.query<SecurityEventRow>(
    `SELECT * FROM security_events
     WHERE ($1::text IS NULL OR type = $1)
       AND ($2::text IS NULL OR client_id = $2)
       AND ($3::text IS NULL OR sub = $3)
       AND ($4::timestamptz IS NULL OR occurred_at >= $4)
       AND ($5::timestamptz IS NULL OR occurred_at < $5)
       AND ($6::bigint IS NULL OR id < $6)
     ORDER BY id DESC LIMIT $7`,
    [
      filter.type ?? null,
      filter.clientId ?? null,
      filter.sub ?? null,
      filter.since ?? null,
      filter.until ?? null,
      filter.before ?? null,
      filter.limit,
    ],
  );
  return rows.map((row) => ({
    id: row.id,
    occurredAt: row.occurred_at,
    type: row.type,
    outcome: row.outcome,
    clientId: row.client_id ?? undefined,
    sub: row.sub ?? undefined,
    details: row.details,
  }));
}
