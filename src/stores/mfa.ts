// SQL for the second factor: the encrypted TOTP secret, its last accepted step, recovery codes.
import type { Queryable } from './database.js';

export interface MfaState {
  totpSecret: string | undefined;
  totpConfirmed: boolean;
  totpLastStep: number;
  mfaRequired: boolean;
}

export async function findMfaState(db: Queryable, sub: string): Promise<MfaState | undefined> {
  const rows = await db.query<{ totp_secret: string | null; totp_confirmed_at: Date | null; totp_last_step: number; mfa_required: boolean }>(
    'SELECT totp_secret, totp_confirmed_at, totp_last_step, mfa_required FROM users WHERE sub = $1',
    [sub],
  );
  const row = rows[0];
  return (
    row && {
      totpSecret: row.totp_secret ?? undefined,
      totpConfirmed: row.totp_confirmed_at !== null,
      totpLastStep: Number(row.totp_last_step),
      mfaRequired: row.mfa_required,
    }
  );
}

/** Stores a new, unconfirmed secret (enrolment started). */
export async function setPendingTotpSecret(db: Queryable, sub: string, encryptedSecret: string): Promise<void> {
  await db.query('UPDATE users SET totp_secret = $2, totp_confirmed_at = NULL, totp_last_step = 0 WHERE sub = $1', [sub, encryptedSecret]);
}

/**
 * Accepts a code's time step only if it is later than the last one accepted, atomically, so a
 * code cannot be replayed, even by two parallel logins. Confirms the enrolment on first use.
 */
export async function acceptTotpStep(db: Queryable, sub: string, step: number): Promise<boolean> {
  const rows = await db.query(
    `UPDATE users SET totp_last_step = $2, totp_confirmed_at = coalesce(totp_confirmed_at, now())
     WHERE sub = $1 AND totp_last_step < $2 RETURNING sub`,
    [sub, step],
  );
  return rows.length === 1;
}

export async function replaceRecoveryCodes(db: Queryable, sub: string, digests: readonly string[]): Promise<void> {
  await db.query('DELETE FROM recovery_codes WHERE sub = $1', [sub]);
  for (const digest of digests) {
    await db.query('INSERT INTO recovery_codes (sub, code_digest) VALUES ($1, $2)', [sub, digest]);
  }
}

/** Uses a recovery code once, atomically; false if unknown or already used. */
export async function consumeRecoveryCode(db: Queryable, sub: string, digest: string): Promise<boolean> {
  const rows = await db.query(
    'UPDATE recovery_codes SET used_at = now() WHERE sub = $1 AND code_digest = $2 AND used_at IS NULL RETURNING sub',
    [sub, digest],
  );
  return rows.length === 1;
}

export async function resetMfa(db: Queryable, sub: string): Promise<void> {
  await db.query('UPDATE users SET totp_secret = NULL, totp_confirmed_at = NULL, totp_last_step = 0 WHERE sub = $1', [sub]);
  await db.query('DELETE FROM recovery_codes WHERE sub = $1', [sub]);
}
