// SQL for the revocation feed's event log. Each insert is announced with NOTIFY (payload: the
// event id) in the same statement's transaction, so every instance can stream it at once.
// revoked_at is in ms since the epoch (migration 009); a value in seconds (written by an
// instance not yet upgraded) is read as its second's last millisecond.
import type { Queryable } from './database.js';
import { secondsBelow } from './revocations/types.js';

export const revocationFeedChannel = 'portcullis_revocations';

export interface RevocationEvent {
  id: number;
  kind: 'jti' | 'sub' | 'client' | 'grant';
  value: string;
  /** ms since the epoch. For kind jti: when it was revoked; otherwise tokens issued at or before it are. */
  revokedAt: number;
  /** Epoch seconds: the event may be forgotten after this. */
  expiresAt: number;
}

interface RevocationEventRow {
  id: number;
  kind: RevocationEvent['kind'];
  value: string;
  revoked_at: number;
  expires_at: number;
}

export async function appendRevocationEvent(
  db: Queryable,
  event: Omit<RevocationEvent, 'id'>,
): Promise<number> {
  const rows = await db.query<{ id: number }>(
    `WITH inserted AS (
       INSERT INTO revocation_events (kind, value, revoked_at, expires_at)
       VALUES ($1, $2, $3, to_timestamp($4)) RETURNING id
     )
     SELECT id, pg_notify($5, id::text) FROM inserted`,
    [event.kind, event.value, Math.floor(event.revokedAt), event.expiresAt, revocationFeedChannel],
  );
  return rows[0]!.id;
}

/** The id of the latest event (0: none yet). */
export async function latestRevocationEventId(db: Queryable): Promise<number> {
  const [row] = await db.query<{ max: number | null }>('SELECT max(id) AS max FROM revocation_events');
  return Number(row?.max ?? 0);
}

/** Unexpired events after `afterId`, oldest first, at most `limit`. */
export async function listRevocationEvents(db: Queryable, afterId: number, limit: number): Promise<RevocationEvent[]> {
  const rows = await db.query<RevocationEventRow>(
    `SELECT id, kind, value,
            CASE WHEN revoked_at >= ${secondsBelow} THEN revoked_at
                 WHEN kind = 'jti' THEN revoked_at * 1000
                 ELSE revoked_at * 1000 + 999 END AS revoked_at,
            floor(extract(epoch FROM expires_at))::bigint AS expires_at
     FROM revocation_events WHERE id > $1 AND expires_at > now() ORDER BY id LIMIT $2`,
    [afterId, limit],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    kind: row.kind,
    value: row.value,
    revokedAt: Number(row.revoked_at),
    expiresAt: Number(row.expires_at),
  }));
}

export async function purgeExpiredRevocationEvents(db: Queryable): Promise<void> {
  await db.query('DELETE FROM revocation_events WHERE expires_at <= now()');
}
