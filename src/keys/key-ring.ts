// The signing keys in force, shared by every instance through KEYS_DIR: a rotation rewrites the
// key file and announces it (NOTIFY); every instance re-reads it, and each one moves to the next
// phase of the schedule (a new key starts signing, an old one leaves the JWKS) on its own timer,
// so all instances change at the same moment without talking to each other. The file is also
// re-read every 30 s, in case a notification was missed.
import type { Database } from '../stores/database.js';
import { keysChannel, underRotationLock } from '../stores/key-rotation-lock.js';
import type { Logger } from '../log.js';
import { generateSigningKey, readSigningKeys, writeSigningKeys } from './keystore.js';
import { keyPhase, planRotation, type KeyPhase, type ScheduledKey } from './key-schedule.js';

const rereadIntervalMs = 30_000;

export interface KeyRing {
  current(): KeyPhase;
  /** Called after the phase changed (new signer, key published or withdrawn). */
  onChange(listener: (phase: KeyPhase) => void): void;
  /** Publishes new RS256 and ES256 keys now; they sign from `delaySeconds` on. */
  rotate(delaySeconds: number): Promise<KeyPhase>;
  close(): Promise<void>;
}

const now = () => Math.floor(Date.now() / 1000);

function samePhase(a: KeyPhase, b: KeyPhase): boolean {
  return JSON.stringify([a.signers, a.published]) === JSON.stringify([b.signers, b.published]);
}

export async function createKeyRing(deps: { keysDir: string; db: Database; log: Logger }): Promise<KeyRing> {
  let keys = (await readSigningKeys(deps.keysDir)) as ScheduledKey[];
  let phase = keyPhase(keys, now());
  const listeners: ((phase: KeyPhase) => void)[] = [];
  let timer: NodeJS.Timeout | undefined;

  const recompute = (): void => {
    const next = keyPhase(keys, now());
    const changed = !samePhase(phase, next);
    phase = next;
    if (changed) {
      deps.log.info({ signers: phase.signers, published: phase.published.map((key) => `${key.kid}:${key.status}`) }, 'signing keys changed');
      for (const listener of listeners) listener(phase);
    }
    clearTimeout(timer);
    if (phase.nextChange !== undefined) {
      // +1 s: a phase starts at the second after its boundary, as keyPhase counts it.
      timer = setTimeout(recompute, Math.max(0, (phase.nextChange - now() + 1) * 1000));
      timer.unref();
    }
  };

  const reread = async (): Promise<void> => {
    try {
      keys = (await readSigningKeys(deps.keysDir));
      recompute();
    } catch (error) {
      deps.log.error({ err: error }, 'could not re-read the signing keys; keeping the current ones');
    }
  };

  recompute();
  const stopListening = await deps.db.listen(keysChannel, () => void reread());
  const poll = setInterval(() => void reread(), rereadIntervalMs);
  poll.unref();

  return {
    current: () => phase,
    onChange: (listener) => listeners.push(listener),
    async rotate(delaySeconds) {
      const fresh = [await generateSigningKey('RS256'), await generateSigningKey('ES256')];
      await underRotationLock(deps.db, async () => {
        const latest = (await readSigningKeys(deps.keysDir)) as ScheduledKey[];
        await writeSigningKeys(deps.keysDir, planRotation(latest, fresh, now(), delaySeconds));
      });
      await reread();
      return phase;
    },
    async close() {
      clearTimeout(timer);
      clearInterval(poll);
      await stopListening();
    },
  };
}
