// What a resource server knows of revocations, built from the feed's events: revoked `jti`s and
// "revoked before" times per subject, client and grant, each forgotten after its expiry.
//
// Times are compared in milliseconds: an event's `revoked_at_ms` with a token's `iat_ms` (its
// issue time in ms). A token is revoked when it was issued at or before the revocation. What
// lacks the precise time is compared at second precision, failing closed: an event without
// `revoked_at_ms` (from a server that predates it) covers its whole `revoked_at` second, and a
// token without `iat_ms` (or with one outside its `iat` second) counts as issued at the first
// millisecond of its `iat` second.
import { issuedAtMs } from './token-format.js';

export interface RevocationEventData {
  kind: 'jti' | 'sub' | 'client' | 'grant';
  value: string;
  /** Epoch seconds (rounded down). */
  revoked_at: number;
  /** The same moment in ms since the epoch. */
  revoked_at_ms?: number;
  expires_at: number;
}

export interface TokenClaimsForRevocation {
  jti?: unknown;
  sub?: unknown;
  client_id?: unknown;
  gid?: unknown;
  iat?: unknown;
  iat_ms?: unknown;
  /** The tokens this one was exchanged from (RFC 8693), nearest first: [{jti?, client_id?}]. */
  exchanged_from?: unknown;
}

function revokedAtMs(event: RevocationEventData): number {
  return typeof event.revoked_at_ms === 'number' ? event.revoked_at_ms : event.revoked_at * 1000 + 999;
}

interface Ancestor {
  jti?: unknown;
  client_id?: unknown;
}

export class RevocationState {
  readonly #entries = new Map<string, { revokedAt: number; expiresAt: number }>();

  apply(event: RevocationEventData): void {
    const key = `${event.kind}:${event.value}`;
    const previous = this.#entries.get(key);
    this.#entries.set(key, {
      revokedAt: Math.max(previous?.revokedAt ?? 0, revokedAtMs(event)),
      expiresAt: Math.max(previous?.expiresAt ?? 0, event.expires_at),
    });
  }

  isRevoked(claims: TokenClaimsForRevocation): boolean {
    // A lineage that is not a list of objects cannot be checked: refuse rather than guess.
    const ancestors: unknown = claims.exchanged_from ?? [];
    if (!Array.isArray(ancestors) || !ancestors.every((entry) => typeof entry === 'object' && entry !== null)) return true;
    const jtis = [claims.jti, ...ancestors.map((ancestor: Ancestor) => ancestor.jti)];
    if (jtis.some((jti) => typeof jti === 'string' && this.#entries.has(`jti:${jti}`))) return true;
    const issuedAt = issuedAtMs(claims.iat, claims.iat_ms);
    const marks: [string, unknown][] = [
      ['sub', claims.sub],
      ['client', claims.client_id],
      ...ancestors.map((ancestor: Ancestor): [string, unknown] => ['client', ancestor.client_id]),
      ['grant', claims.gid],
    ];
    for (const [kind, value] of marks) {
      if (typeof value !== 'string') continue;
      const entry = this.#entries.get(`${kind}:${value}`);
      if (entry && issuedAt <= entry.revokedAt) return true;
    }
    return false;
  }

  /** Drops entries whose tokens have all expired. */
  prune(nowSeconds: number): void {
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= nowSeconds) this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
