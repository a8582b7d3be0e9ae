// What a resource server knows of revocations, built from the feed's events: revoked `jti`s and
// "revoked before" times per subject, client and grant, each forgotten after its expiry.
export interface RevocationEventData {
  kind: 'jti' | 'sub' | 'client' | 'grant';
  value: string;
  revoked_at: number;
  expires_at: number;
}

export interface TokenClaimsForRevocation {
  jti?: unknown;
  sub?: unknown;
  client_id?: unknown;
  gid?: unknown;
  iat?: unknown;
}

export class RevocationState {
  readonly #entries = new Map<string, { revokedAt: number; expiresAt: number }>();

  apply(event: RevocationEventData): void {
    const key = `${event.kind}:${event.value}`;
    const previous = this.#entries.get(key);
    this.#entries.set(key, {
      revokedAt: Math.max(previous?.revokedAt ?? 0, event.revoked_at),
      expiresAt: Math.max(previous?.expiresAt ?? 0, event.expires_at),
    });
  }

  isRevoked(claims: TokenClaimsForRevocation): boolean {
    if (typeof claims.jti === 'string' && this.#entries.has(`jti:${claims.jti}`)) return true;
    const iat = typeof claims.iat === 'number' ? claims.iat : 0;
    for (const [kind, value] of [
      ['sub', claims.sub],
      ['client', claims.client_id],
      ['grant', claims.gid],
    ] as const) {
      if (typeof value !== 'string') continue;
      const entry = this.#entries.get(`${kind}:${value}`);
      if (entry && iat <= entry.revokedAt) return true;
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
