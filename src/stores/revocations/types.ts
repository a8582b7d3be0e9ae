// Revocation state for tokens we cannot delete because nobody stores them: JWT access tokens,
// verified offline. A token is revoked when its `jti` is listed, or when its subject, client or
// grant was revoked at or after the token's `iat`. A check costs one round trip.

export type RevocationKind = 'sub' | 'client' | 'grant';

export interface TokenIdentity {
  jti: string;
  iat: number;
  sub?: string | undefined;
  clientId?: string | undefined;
  grantId?: string | undefined;
}

export interface RevocationStore {
  /** Lists a token id as revoked until expiresAt (epoch seconds), when the token dies anyway. */
  revokeToken(jti: string, expiresAt: number): Promise<void>;
  /** Revokes every token of this subject / client / grant issued at or before `at` (epoch s). */
  revokeIssuedBefore(kind: RevocationKind, id: string, at: number, lifetime: number): Promise<void>;
  isRevoked(token: TokenIdentity): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * How long a "revoked before" mark is kept: as long as anything it covers can live — refresh
 * tokens, sessions and grants (14 days, src/oidc/config/ttl.ts) — plus slack.
 */
export const revokedBeforeLifetime = 14 * 24 * 60 * 60 + 60;
