// The normalised username columns of migration 008 for rows that predate it. SQL cannot
// compute NFKC and JavaScript's case fold faithfully, so this runs in TypeScript, inside
// migrate()'s transaction under the migration lock (one instance does it; the others wait and
// find nothing left). Oldest first: when two old usernames normalise alike, the older account
// keeps the name and the younger keeps a NULL key (it cannot sign in until renamed).
//
// The migration lock does not hold back instances already running the new release: they
// insert and rename users with keys while this runs (a rolling start), and a user they commit
// after the UPDATE's snapshot is invisible to its NOT EXISTS check (READ COMMITTED: one
// snapshot per statement), so the unique index refuses the key with 23505. That must not abort
// migrate() (the instance would fail to start): each batch runs under a savepoint, and a batch
// refused so is redone row by row, key by key, where a key refused again is one someone else
// holds now. That row keeps NULL, as for a collision between old names, and the start warning
// names it (server.ts, findUsersWithoutUsernameKey).
import { normalizeUsername, usernameLookalikeKey } from '../credentials/usernames.js';
import { isUniqueViolation, type Queryable } from './database.js';

const batchSize = 1000;

interface PendingRow {
  sub: string;
  username: string;
  /** created_at as Postgres prints it: an exact cursor (a JS Date drops the microseconds). */
  created: string;
  username_key: string | null;
  username_lookalike_key: string | null;
}

/** Fills username_key / username_lookalike_key where they are NULL and free to take. */
export async function completeUsernameKeys(db: Queryable): Promise<void> {
  // migrate() may be given a directory that stops before 008 (a test of an older schema).
  const columns = await db.query(
    `SELECT 1 FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = 'username_lookalike_key'`,
  );
  if (columns.length === 0) return;
  // Keys handed out during this run; the UPDATE's NOT EXISTS covers keys held before it, the
  // savepoint keys stored meanwhile by another instance.
  const claimedKeys = new Set<string>();
  const claimedLookalikes = new Set<string>();
  let cursor: { created: string; sub: string } | undefined;
  for (;;) {
    const rows = await db.query<PendingRow>(
      `SELECT sub, username, created_at::text AS created, username_key, username_lookalike_key FROM users
       WHERE (username_key IS NULL OR username_lookalike_key IS NULL)
         AND ($1::timestamptz IS NULL OR (created_at, sub) > ($1::timestamptz, $2::text))
       ORDER BY created_at, sub LIMIT $3`,
      [cursor?.created ?? null, cursor?.sub ?? '', batchSize],
    );
    if (rows.length === 0) return;
    const subs: string[] = [];
    const keys: (string | null)[] = [];
    const lookalikes: (string | null)[] = [];
    for (const row of rows) {
      subs.push(row.sub);
      keys.push(row.username_key === null ? claim(claimedKeys, normalizeUsername(row.username)) : null);
      lookalikes.push(row.username_lookalike_key === null ? claim(claimedLookalikes, usernameLookalikeKey(row.username)) : null);
    }
    if (await refusedAsTaken(db, () => updateBatch(db, { subs, keys, lookalikes }))) {
      for (const [index, sub] of subs.entries()) {
        for (const [column, key] of [['username_key', keys[index]], ['username_lookalike_key', lookalikes[index]]] as const) {
          if (key !== null && key !== undefined) await refusedAsTaken(db, () => updateOne(db, sub, column, key));
        }
      }
    }
    const last = rows[rows.length - 1]!;
    cursor = { created: last.created, sub: last.sub };
  }
}

/** Sets each row's missing keys where no other row holds them (as far as this statement sees). */
async function updateBatch(db: Queryable, batch: { subs: string[]; keys: (string | null)[]; lookalikes: (string | null)[] }): Promise<void> {
  await db.query(
    `UPDATE users AS u SET
       username_key = COALESCE(u.username_key,
         CASE WHEN NOT EXISTS (SELECT 1 FROM users o WHERE o.username_key = v.key) THEN v.key END),
       username_lookalike_key = COALESCE(u.username_lookalike_key,
         CASE WHEN NOT EXISTS (SELECT 1 FROM users o WHERE o.username_lookalike_key = v.lookalike) THEN v.lookalike END)
     FROM unnest($1::text[], $2::text[], $3::text[]) AS v(sub, key, lookalike)
     WHERE u.sub = v.sub`,
    [batch.subs, batch.keys, batch.lookalikes],
  );
}

/** One key of one row, if it is still missing and no other row holds it. */
async function updateOne(db: Queryable, sub: string, column: 'username_key' | 'username_lookalike_key', key: string): Promise<void> {
  // The column is one of two literals above, never input.
  await db.query(
    `UPDATE users SET ${column} = $2
     WHERE sub = $1 AND ${column} IS NULL AND NOT EXISTS (SELECT 1 FROM users o WHERE o.${column} = $2)`,
    [sub, key],
  );
}

/**
 * Runs one statement under a savepoint. True when the unique index refused it (a key another
 * transaction committed after its snapshot): it is undone and the transaction goes on. Any
 * other error is thrown (the transaction is then aborted, and migrate() rolls back).
 */
async function refusedAsTaken(db: Queryable, statement: () => Promise<void>): Promise<boolean> {
  await db.query('SAVEPOINT username_keys');
  try {
    await statement();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    await db.query('ROLLBACK TO SAVEPOINT username_keys');
    await db.query('RELEASE SAVEPOINT username_keys');
    return true;
  }
  await db.query('RELEASE SAVEPOINT username_keys');
  return false;
}

/** The key if no earlier row of this run took it (then it is taken), else null. */
function claim(claimed: Set<string>, key: string): string | null {
  if (claimed.has(key)) return null;
  claimed.add(key);
  return key;
}

/** Accounts left without a login key: their username normalises like an older account's. */
export async function findUsersWithoutUsernameKey(db: Queryable): Promise<{ sub: string; username: string }[]> {
  return db.query<{ sub: string; username: string }>(
    'SELECT sub, username FROM users WHERE username_key IS NULL ORDER BY created_at, sub LIMIT 100',
  );
}
