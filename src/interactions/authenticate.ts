// Password login. Every attempt costs one argon2 verification, for unknown users too (a decoy),
// and every failure looks the same to the caller, so neither timing nor wording reveals which
// usernames exist or which accounts are disabled.
import { hashPassword, passwordLength, passwordNeedsRehash, verifyPassword } from '../credentials/passwords.js';
import type { Logger } from '../log.js';
import type { Queryable } from '../stores/database.js';
import { findUserByUsername, replacePasswordHash } from '../stores/users.js';
import { isStorableText } from '../stores/text.js';

export type AuthenticationResult = { ok: true; sub: string } | { ok: false };

export async function authenticateUser(
  deps: { db: Queryable; log: Logger },
  username: string,
  password: string,
): Promise<AuthenticationResult> {
  const plausible =
    username.length > 0 && username.length <= 128 && password.length <= passwordLength.max && isStorableText(username);
  // Found by the normalised form only (stores/users.ts), the form the login throttle counts
  // under: a look-alike spelling is another name, never a way around the account's lock.
  const user = plausible ? await findUserByUsername(deps.db, username) : undefined;
  const matches = await verifyPassword(user?.passwordHash, plausible ? password : '');
  if (!user || !matches || user.disabled) return { ok: false };

  // Hashes made with older parameters are upgraded while we hold the plain password.
  if (passwordNeedsRehash(user.passwordHash)) {
    try {
      await replacePasswordHash(deps.db, user.sub, user.passwordHash, await hashPassword(password));
    } catch (error) {
      deps.log.warn({ err: error, sub: user.sub }, 'could not upgrade a password hash; the login goes on');
    }
  }
  return { ok: true, sub: user.sub };
}
