// Passwords are hashed with argon2id at OWASP's minimum (m=19456 KiB, t=2, p=1). Verification of
// an unknown username runs against a decoy hash so that timing does not reveal which users exist.
import os from 'node:os';
import argon2 from 'argon2';
import pLimit from 'p-limit';

export const passwordHashOptions = Object.freeze({
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

// NIST SP 800-63B §5.1.1.2: at least 8 characters; we cap the length to bound hashing work.
export const passwordLength = Object.freeze({ min: 8, max: 256 });

/**
 * At most one argon2 computation per core at a time. The hash is pure CPU, so more in flight adds
 * no throughput; each one holds 19 MiB (which the allocator keeps afterwards), and each occupies
 * a libuv thread that the token endpoints' signing (WebCrypto) also runs on. With the default
 * four libuv threads on a two-core machine, a burst of logins would otherwise take all four.
 */
const argon2Slots = pLimit(Math.max(1, Math.min(os.availableParallelism(), 4)));

export async function hashPassword(password: string): Promise<string> {
  return argon2Slots(() => argon2.hash(password, passwordHashOptions));
}

const verify = (hash: string, password: string) => argon2Slots(() => argon2.verify(hash, password));

let decoyHash: Promise<string> | undefined;

/**
 * Verifies a password against a stored hash, or against a decoy when there is no user, so both
 * paths cost one argon2 verification.
 */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  if (storedHash === undefined) {
    decoyHash ??= hashPassword('portcullis decoy password');
    await verify(await decoyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}

/** True when a hash was made with other parameters than today's, so a login should re-hash it. */
export function passwordNeedsRehash(storedHash: string): boolean {
  // needsRehash compares version and cost parameters only, not the variant (argon2i / argon2d).
  return !storedHash.startsWith('$argon2id$') || argon2.needsRehash(storedHash, passwordHashOptions);
}
