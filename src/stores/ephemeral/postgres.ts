// The ephemeral store on Postgres (or PGlite), table ephemeral_records (migrations/002).
// The uid / userCode / grant "indexes" are columns of the record's own row, so replacing or
// deleting a row replaces or deletes its index entries with it. Expired rows stay until the
// periodic purge but every read filters them out (expires_at > now()), so expiry is exact.
import type { Database, Queryable } from '../database.js';
import { grantableModels, maxRecordLifetime, type EphemeralStore, type Payload } from './types.js';

/** How often expired rows are deleted by default (milliseconds). */
const defaultPurgeIntervalMs = 60_000;

// $1 model, $2 id, $3 payload JSON, $4 grant_id, $5 uid, $6 user_code, $7 lifetime seconds,
// $8 consumed (epoch seconds) when the payload was saved after consumption.
const insertRecord = `
  INSERT INTO ephemeral_records (model, id, payload, grant_id, uid, user_code, expires_at, consumed_at)
  VALUES ($1, $2, $3::json, $4, $5, $6, now() + make_interval(secs => $7::float8), to_timestamp($8::float8))
  ON CONFLICT (model, id) DO UPDATE SET
    payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
    user_code = excluded.user_code, expires_at = excluded.expires_at, consumed_at = excluded.consumed_at`;

// consumed_at as whole epoch seconds, the unit oidc-provider uses for `consumed`.
const selectRecord = `
  SELECT payload, floor(extract(epoch FROM consumed_at))::float8 AS consumed FROM ephemeral_records`;

// Nothing stops two live rows from sharing a uid (no unique index): answer with the longest-lived.
const selectByUid = `${selectRecord}
  WHERE model = $1 AND uid = $2 AND expires_at > now() ORDER BY expires_at DESC LIMIT 1`;
const selectByUserCode = `${selectRecord}
  WHERE model = $1 AND user_code = $2 AND expires_at > now() ORDER BY expires_at DESC LIMIT 1`;

interface RecordRow {
  payload: Payload;
  consumed: number | null;
}

/** Deletes expired rows; returns how many. */
export async function purgeExpired(db: Queryable): Promise<number> {
  const [row] = await db.query<{ count: number }>(
    `WITH purged AS (DELETE FROM ephemeral_records WHERE expires_at <= now() RETURNING 1)
     SELECT count(*)::int AS count FROM purged`,
  );
  return row?.count ?? 0;
}

/** Seconds, at least 1, so that every record expires and none is born expired. */
function lifetime(expiresIn: number | undefined): number {
  if (expiresIn === undefined) return maxRecordLifetime;
  if (!Number.isFinite(expiresIn)) throw new RangeError(`expiresIn must be a finite number, got ${expiresIn}`);
  return Math.max(1, Math.ceil(expiresIn));
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function recordParams(model: string, id: string, payload: Payload, expiresIn: number | undefined): unknown[] {
  const consumed = typeof payload.consumed === 'number' && Number.isFinite(payload.consumed) ? payload.consumed : null;
  return [
    model,
    id,
    // Serialised here: pg would turn a top-level array into a Postgres array, and it keeps
    // both drivers on the same path.
    JSON.stringify(payload),
    grantableModels.has(model) ? text(payload.grantId) : null,
    text(payload.uid),
    text(payload.userCode),
    lifetime(expiresIn),
    consumed,
  ];
}

function toPayload(row: RecordRow | undefined): Payload | undefined {
  if (!row) return undefined;
  return row.consumed === null ? row.payload : { ...row.payload, consumed: row.consumed };
}

export function createPostgresEphemeralStore(options: { db: Database; purgeIntervalMs?: number }): EphemeralStore {
  const { db } = options;

  // One purge at a time; close() waits for the one in flight so the caller may then close db.
  let purging: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    // A failed purge is retried on the next tick; expired rows are invisible meanwhile.
    purging ??= purgeExpired(db)
      .catch(() => {})
      .finally(() => {
        purging = undefined;
      });
  }, options.purgeIntervalMs ?? defaultPurgeIntervalMs);
  // The purge must never keep the process alive on its own.
  timer.unref();

  async function findBy(sql: string, model: string, value: string) {
    const [row] = await db.query<RecordRow>(sql, [model, value]);
    return toPayload(row);
  }

  return {
    kind: 'postgres',
    async upsert(model, id, payload, expiresIn) {
      await db.query(insertRecord, recordParams(model, id, payload, expiresIn));
    },
    async find(model, id) {
      const [row] = await db.query<RecordRow>(`${selectRecord} WHERE model = $1 AND id = $2 AND expires_at > now()`, [
        model,
        id,
      ]);
      return toPayload(row);
    },
    findByUid: (model, uid) => findBy(selectByUid, model, uid),
    findByUserCode: (model, userCode) => findBy(selectByUserCode, model, userCode),
    async consume(model, id) {
      // One statement: concurrent callers queue on the row lock and re-check consumed_at.
      const rows = await db.query(
        `UPDATE ephemeral_records SET consumed_at = now()
         WHERE model = $1 AND id = $2 AND consumed_at IS NULL AND expires_at > now()
         RETURNING id`,
        [model, id],
      );
      return rows.length === 1;
    },
    async destroy(model, id) {
      await db.query('DELETE FROM ephemeral_records WHERE model = $1 AND id = $2', [model, id]);
    },
    async revokeByGrantId(grantId) {
      // grant_id is only set for grantable models, so this cannot touch a Grant or a Session.
      await db.query('DELETE FROM ephemeral_records WHERE grant_id = $1', [grantId]);
    },
    // Markers are rows of the system of record: they are lost only with the database itself, so
    // no credential predates them and `_issuedAtMs` is not needed.
    async consumeOnce(model, id, expiresIn, _issuedAtMs) {
      // An expired row that the purge has not reached yet must not block a new marker: take it
      // over in the same statement. A live row makes the WHERE false and nothing is returned.
      const rows = await db.query(
        `${insertRecord} WHERE ephemeral_records.expires_at <= now() RETURNING id`,
        recordParams(model, id, {}, expiresIn),
      );
      return rows.length === 1 ? 'consumed' : 'replayed';
    },
    async ping() {
      await db.query('SELECT 1');
    },
    async close() {
      clearInterval(timer);
      await purging;
    },
  };
}
