// SQL for key rotation: one rotation at a time across every instance, announced to all of them.
// The keys themselves live in KEYS_DIR (src/keys/keystore.ts); Postgres only serialises and
// notifies (src/keys/key-ring.ts).
import type { Database } from './database.js';

export const keysChannel = 'portcullis_keys';

// Arbitrary constant shared by every instance.
const rotationLockKey = 8_101_116_111_117_109;

/**
 * Runs `rewrite` while holding the rotation lock, and announces the rotation on keysChannel when
 * the lock is released (NOTIFY is delivered at commit).
 */
export async function underRotationLock(db: Database, rewrite: () => Promise<void>): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [rotationLockKey]);
    await rewrite();
    await tx.query('SELECT pg_notify($1, $2)', [keysChannel, 'rotated']);
  });
}
