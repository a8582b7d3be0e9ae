// SQL for the users table. The password hash never leaves this module's callers in src/users.
// Usernames are stored as typed and found by their normalised key (credentials/usernames.ts),
// which this module derives on every write, so no caller can store a name without its keys.
import { normalizeUsername, usernameLookalikeKey } from '../credentials/usernames.js';
import type { Queryable } from './database.js';
import { announceCatalogChange } from './catalog-channel.js';

export interface UserProfile {
  email: string | undefined;
  emailVerified: boolean;
  name: string | undefined;
  givenName: string | undefined;
  familyName: string | undefined;
}

export interface UserRecord extends UserProfile {
  sub: string;
  username: string;
  passwordHash: string;
  disabled: boolean;
  /** A second factor is required at login. */
  mfaRequired: boolean;
  /** A TOTP authenticator is enrolled and confirmed (read-only here; see stores/mfa.ts). */
  mfaEnrolled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

interface UserRow {
  sub: string;
  username: string;
  password_hash: string;
  email: string | null;
  email_verified: boolean;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  disabled: boolean;
  mfa_required: boolean;
  totp_confirmed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: UserRow): UserRecord {
  return {
    sub: row.sub,
    username: row.username,
    passwordHash: row.password_hash,
    email: row.email ?? undefined,
    emailVerified: row.email_verified,
    name: row.name ?? undefined,
    givenName: row.given_name ?? undefined,
    familyName: row.family_name ?? undefined,
    disabled: row.disabled,
    mfaRequired: row.mfa_required,
    mfaEnrolled: row.totp_confirmed_at !== null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function findUserBySub(db: Queryable, sub: string): Promise<UserRecord | undefined> {
  const rows = await db.query<UserRow>('SELECT * FROM users WHERE sub = $1', [sub]);
  return rows[0] && toRecord(rows[0]);
}

/** The account a typed username names: an exact match of the normalised form, nothing looser. */
export async function findUserByUsername(db: Queryable, username: string): Promise<UserRecord | undefined> {
  const rows = await db.query<UserRow>('SELECT * FROM users WHERE username_key = $1', [normalizeUsername(username)]);
  return rows[0] && toRecord(rows[0]);
}

export type UsernameConflict = { kind: 'taken' | 'lookalike'; existing: string };

/**
 * Why a username cannot be given to `exceptSub` (or to a new account): another account has the
 * same normalised form, or one that looks alike. undefined when it is free.
 */
export async function findUsernameConflict(db: Queryable, username: string, exceptSub = ''): Promise<UsernameConflict | undefined> {
  const rows = await db.query<{ username: string; same: boolean }>(
    `SELECT username, username_key = $1 AS same FROM users
     WHERE (username_key = $1 OR username_lookalike_key = $2) AND sub <> $3
     ORDER BY username_key = $1 DESC LIMIT 1`,
    [normalizeUsername(username), usernameLookalikeKey(username), exceptSub],
  );
  return rows[0] && { kind: rows[0].same ? 'taken' : 'lookalike', existing: rows[0].username };
}

export async function listUsers(db: Queryable, options: { limit: number; after?: string | undefined }): Promise<UserRecord[]> {
  const rows = await db.query<UserRow>('SELECT * FROM users WHERE sub > $1 ORDER BY sub LIMIT $2', [
    options.after ?? '',
    options.limit,
  ]);
  return rows.map(toRecord);
}

/**
 * Inserts a user; undefined when the username (normalised) or one that looks alike is taken
 * (findUsernameConflict says which).
 */
export async function insertUser(
  db: Queryable,
  user: Omit<UserRecord, 'createdAt' | 'updatedAt' | 'mfaEnrolled'>,
): Promise<UserRecord | undefined> {
  const rows = await db.query<UserRow>(
    `INSERT INTO users (sub, username, password_hash, email, email_verified, name, given_name, family_name, disabled, mfa_required,
       username_key, username_lookalike_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT DO NOTHING RETURNING *`,
    [
      user.sub,
      user.username,
      user.passwordHash,
      user.email ?? null,
      user.emailVerified,
      user.name ?? null,
      user.givenName ?? null,
      user.familyName ?? null,
      user.disabled,
      user.mfaRequired,
      normalizeUsername(user.username),
      usernameLookalikeKey(user.username),
    ],
  );
  // A lookup of this sub before it existed may be cached as a miss somewhere.
  if (rows[0]) await announceCatalogChange(db, { type: 'user', id: user.sub });
  return rows[0] && toRecord(rows[0]);
}

/**
 * Replaces a user's fields; throws a unique violation when a new username is taken or looks
 * like one that is. The keys follow the username only when it changes, so a profile edit of an
 * account left without a key by migration 008 is not refused for its old name.
 */
export async function updateUser(
  db: Queryable,
  user: Omit<UserRecord, 'createdAt' | 'updatedAt' | 'mfaEnrolled'>,
): Promise<UserRecord | undefined> {
  const rows = await db.query<UserRow>(
    `UPDATE users SET username = $2, password_hash = $3, email = $4, email_verified = $5, name = $6,
       given_name = $7, family_name = $8, disabled = $9, mfa_required = $10, updated_at = now(),
       username_key = CASE WHEN username = $2 THEN username_key ELSE $11 END,
       username_lookalike_key = CASE WHEN username = $2 THEN username_lookalike_key ELSE $12 END
     WHERE sub = $1 RETURNING *`,
    [
      user.sub,
      user.username,
      user.passwordHash,
      user.email ?? null,
      user.emailVerified,
      user.name ?? null,
      user.givenName ?? null,
      user.familyName ?? null,
      user.disabled,
      user.mfaRequired,
      normalizeUsername(user.username),
      usernameLookalikeKey(user.username),
    ],
  );
  if (rows[0]) await announceCatalogChange(db, { type: 'user', id: user.sub });
  return rows[0] && toRecord(rows[0]);
}

/** Replaces a hash only if it is still the one we verified (a login upgrading old parameters). */
export async function replacePasswordHash(db: Queryable, sub: string, previous: string, next: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $3 WHERE sub = $1 AND password_hash = $2', [sub, previous, next]);
}

export async function deleteUser(db: Queryable, sub: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM users WHERE sub = $1 RETURNING sub', [sub]);
  if (rows.length) await announceCatalogChange(db, { type: 'user', id: sub });
  return rows.length === 1;
}
