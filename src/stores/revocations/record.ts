// The durable record of revocation state, in Postgres, in every set-up: what Redis
// holds is a copy of these rows, rebuilt from them when Redis loses its data. Each revocation is
// written here in one transaction with its feed event (and, when it comes with an admin change,
// with that change: an outbox), so a revocation is either recorded, announced and effective, or
// not at all.
//
// Order: every revocation takes one transaction-scoped advisory lock before it takes its event
// id, and holds it until it commits. So ids become visible in the order they were taken: once
// a reader sees id N, every id below N is committed (or rolled back), never still to come. The
// feed (revocation/feed-hub.ts) and the Redis copy (revocation/revocation-relay.ts) both read
// "everything after the last id I have" and would otherwise skip an id that committed late.
// The lock is held for two short statements and the commit, never while the change before it
// waits on a row lock.
//
// revoked_before.revoked_at is in ms since the epoch (migration 009); a value in seconds,
// written by an instance not yet upgraded, is read as its second's last millisecond.
import type { Queryable } from '../database.js';
import { appendRevocationEvent } from '../revocation-events.js';
import { lineageOf, secondsBelow, type RevocationKind, type TokenIdentity } from './types.js';

/** pg_advisory_xact_lock key that orders revocation event ids by commit (see above). */
const revocationOrderLockKey = 7_265_118_111_099_097;

/** SQL for revokedAtMs(column). */
const inMs = (column: string) => `(CASE WHEN ${column} < ${secondsBelow} THEN ${column} * 1000 + 999 ELSE ${column} END)`;

/** One revocation, as recorded. */
export type RecordedRevocation =
  | { kind: 'jti'; id: string; /** epoch seconds: the token's own expiry */ expiresAt: number }
  | { kind: RevocationKind; id: string; /** ms: tokens issued at or before it are revoked */ revokedAt: number; /** epoch seconds */ expiresAt: number };

/** A recorded revocation with the sequence number of its latest change. */
export type RevocationMark = RecordedRevocation & { seq: number };

/**
 * Records a revocation and its feed event; call inside a transaction (the lock above is
 * transaction-scoped). `feedExpiresAt` (epoch seconds) is how long the feed keeps the event.
 * Returns its sequence number.
 */
export async function recordRevocation(tx: Queryable, revocation: RecordedRevocation, feedExpiresAt: number): Promise<number> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [revocationOrderLockKey]);
  const revokedAt = revocation.kind === 'jti' ? Date.now() : revocation.revokedAt;
  const seq = await appendRevocationEvent(tx, { kind: revocation.kind, value: revocation.id, revokedAt, expiresAt: feedExpiresAt });
  if (revocation.kind === 'jti') {
    await tx.query(
      `INSERT INTO revoked_tokens (jti, expires_at, seq) VALUES ($1, to_timestamp($2), $3)
       ON CONFLICT (jti) DO UPDATE SET
         expires_at = GREATEST(revoked_tokens.expires_at, excluded.expires_at), seq = excluded.seq`,
      [revocation.id, revocation.expiresAt, seq],
    );
  } else {
    await tx.query(
      `INSERT INTO revoked_before (kind, id, revoked_at, expires_at, seq) VALUES ($1, $2, $3, to_timestamp($4), $5)
       ON CONFLICT (kind, id) DO UPDATE SET
         revoked_at = GREATEST(${inMs('revoked_before.revoked_at')}, excluded.revoked_at),
         expires_at = GREATEST(revoked_before.expires_at, excluded.expires_at),
         seq = excluded.seq`,
      [revocation.kind, revocation.id, Math.floor(revocation.revokedAt), revocation.expiresAt, seq],
    );
  }
  return seq;
}

interface MarkRow {
  seq: number;
  kind: RevocationMark['kind'];
  id: string;
  revoked_at: number | null;
  expires_at: number;
}

/** Unexpired marks changed after `afterSeq`, in sequence order, at most `limit`. */
export async function listMarksAfter(db: Queryable, afterSeq: number, limit: number): Promise<RevocationMark[]> {
  const rows = await db.query<MarkRow>(
    `SELECT seq, 'jti' AS kind, jti AS id, NULL::bigint AS revoked_at, ceil(extract(epoch FROM expires_at))::bigint AS expires_at
       FROM revoked_tokens WHERE seq > $1 AND expires_at > now()
     UNION ALL
     SELECT seq, kind, id, ${inMs('revoked_at')}, ceil(extract(epoch FROM expires_at))::bigint
       FROM revoked_before WHERE seq > $1 AND expires_at > now()
     ORDER BY seq LIMIT $2`,
    [afterSeq, limit],
  );
  return rows.map((row): RevocationMark =>
    row.kind === 'jti'
      ? { seq: Number(row.seq), kind: 'jti', id: row.id, expiresAt: Number(row.expires_at) }
      : { seq: Number(row.seq), kind: row.kind, id: row.id, revokedAt: Number(row.revoked_at), expiresAt: Number(row.expires_at) },
  );
}

/** The highest sequence number recorded so far (0: none). */
export async function latestRevocationSeq(db: Queryable): Promise<number> {
  const [row] = await db.query<{ seq: number | null }>(
    'SELECT GREATEST((SELECT max(seq) FROM revoked_tokens), (SELECT max(seq) FROM revoked_before)) AS seq',
  );
  return Number(row?.seq ?? 0);
}

/** Whether the record revokes this token: one query. */
export async function isRevokedInRecord(db: Queryable, token: TokenIdentity): Promise<boolean> {
  const { jtis, clientIds } = lineageOf(token);
  const rows = await db.query(
    `SELECT 1 FROM revoked_tokens WHERE jti = ANY($1::text[]) AND expires_at > now()
     UNION ALL
     SELECT 1 FROM revoked_before
      WHERE expires_at > now() AND ${inMs('revoked_at')} >= $2
        AND ((kind = 'sub' AND id = $3) OR (kind = 'client' AND id = ANY($4::text[])) OR (kind = 'grant' AND id = $5))
     LIMIT 1`,
    [jtis, token.issuedAt, token.sub ?? null, clientIds, token.grantId ?? null],
  );
  return rows.length > 0;
}

export async function purgeExpiredRevocations(db: Queryable): Promise<void> {
  await db.query('DELETE FROM revoked_tokens WHERE expires_at <= now()');
  await db.query('DELETE FROM revoked_before WHERE expires_at <= now()');
}
