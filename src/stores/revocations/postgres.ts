// Revocation state in Postgres (no REDIS_URL): the same contract as redis.ts, one query a check.
// revoked_before.revoked_at is in ms since the epoch (migration 009); a value in seconds, written
// by an instance not yet upgraded, is read as its second's last millisecond (types.ts revokedAtMs).
import type { Database } from '../database.js';
import { lineageOf, secondsBelow, type RevocationStore } from './types.js';

const purgeIntervalMs = 5 * 60_000;

/** SQL for revokedAtMs(column). */
const inMs = (column: string) => `(CASE WHEN ${column} < ${secondsBelow} THEN ${column} * 1000 + 999 ELSE ${column} END)`;

export async function purgeExpiredRevocations(db: Database): Promise<void> {
  await db.query('DELETE FROM revoked_tokens WHERE expires_at <= now()');
  await db.query('DELETE FROM revoked_before WHERE expires_at <= now()');
}

export function createPostgresRevocationStore(options: { db: Database }): RevocationStore {
  const { db } = options;
  const timer = setInterval(() => void purgeExpiredRevocations(db).catch(() => {}), purgeIntervalMs);
  timer.unref();

  return {
    async revokeToken(jti, expiresAt) {
      await db.query(
        `INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2))
         ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(revoked_tokens.expires_at, excluded.expires_at)`,
        [jti, expiresAt],
      );
    },
    async revokeIssuedBefore(kind, id, at, lifetime) {
      await db.query(
        `INSERT INTO revoked_before (kind, id, revoked_at, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))
         ON CONFLICT (kind, id) DO UPDATE SET
           revoked_at = GREATEST(${inMs('revoked_before.revoked_at')}, excluded.revoked_at),
           expires_at = GREATEST(revoked_before.expires_at, excluded.expires_at)`,
        [kind, id, Math.floor(at), lifetime],
      );
    },
    async isRevoked(token) {
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
    },
    async close() {
      clearInterval(timer);
    },
  };
}
