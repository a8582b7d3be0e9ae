// Staged key rotation as a pure schedule. Each key has `use_from` (epoch seconds; absent for the
// first keys): a new key is published in the JWKS at once but signs only from `use_from`, so
// every resource server's JWKS cache has seen it first. The key it replaces stops signing then,
// and stays published until every token it signed has expired.
import type { JWK } from 'jose';
import { toPublicJwk, type SigningKey } from './keystore.js';

export interface ScheduledKey extends SigningKey {
  use_from?: number;
}

/** Longest lifetime of anything we sign: access tokens (an API's TTL is at most a day), plus slack. */
export const longestSignedLifetime = 24 * 60 * 60 + 60;

export type KeyStatus = 'next' | 'active' | 'retiring';

export interface PublishedKey extends JWK {
  kid: string;
  status: KeyStatus;
  use_from?: number;
  /** For retiring keys: when they leave the JWKS. */
  published_until?: number;
}

export interface KeyPhase {
  /** Private keys for the provider: the active RS256 and ES256 keys first (they sign), then the rest. */
  providerKeys: SigningKey[];
  /** Kid of the active signer per algorithm. */
  signers: Record<'RS256' | 'ES256', string>;
  published: PublishedKey[];
  /** When the phase changes next (epoch seconds), if it will. */
  nextChange: number | undefined;
}

function stripSchedule(key: ScheduledKey): SigningKey {
  const { use_from: _useFrom, ...jwk } = key;
  return jwk;
}

export function keyPhase(keys: readonly ScheduledKey[], now: number): KeyPhase {
  const providerKeys: SigningKey[] = [];
  const rest: SigningKey[] = [];
  const published: PublishedKey[] = [];
  const signers = {} as Record<'RS256' | 'ES256', string>;
  const changes: number[] = [];

  for (const alg of ['RS256', 'ES256'] as const) {
    const ofAlg = keys.filter((key) => key.alg === alg).sort((a, b) => (a.use_from ?? 0) - (b.use_from ?? 0));
    const started = ofAlg.filter((key) => (key.use_from ?? 0) <= now);
    const active = started[started.length - 1] ?? ofAlg[0];
    if (!active) throw new Error(`no ${alg} signing key`);
    signers[alg] = active.kid;
    providerKeys.push(stripSchedule(active));
    published.push({ ...toPublicJwk(stripSchedule(active)), kid: active.kid, status: 'active', use_from: active.use_from });
    for (const [index, key] of ofAlg.entries()) {
      if (key === active) continue;
      const useFrom = key.use_from ?? 0;
      if (useFrom > now) {
        changes.push(useFrom);
        rest.push(stripSchedule(key));
        published.push({ ...toPublicJwk(stripSchedule(key)), kid: key.kid, status: 'next', use_from: useFrom });
        continue;
      }
      // Replaced when the next key of this algorithm started to sign.
      const replacedAt = ofAlg[index + 1]?.use_from ?? now;
      const publishedUntil = replacedAt + longestSignedLifetime;
      if (publishedUntil <= now) continue;
      changes.push(publishedUntil);
      rest.push(stripSchedule(key));
      published.push({ ...toPublicJwk(stripSchedule(key)), kid: key.kid, status: 'retiring', published_until: publishedUntil });
    }
  }
  // RS256 first: oidc-provider signs ID tokens with the first key of the client's algorithm.
  return {
    providerKeys: [...providerKeys, ...rest],
    signers,
    published,
    nextChange: changes.length ? Math.min(...changes) : undefined,
  };
}

/** The key set after a rotation started at `now`: new keys of both algorithms, expired ones dropped. */
export function planRotation(keys: readonly ScheduledKey[], fresh: readonly SigningKey[], now: number, delay: number): ScheduledKey[] {
  const current = keyPhase(keys, now);
  const kept = new Set(current.published.map((key) => key.kid));
  return [...keys.filter((key) => kept.has(key.kid)), ...fresh.map((key) => ({ ...key, use_from: now + delay }))];
}
