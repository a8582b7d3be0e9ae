// Revocation state for tokens we cannot delete because nobody stores them: JWT access tokens,
// verified offline. A token is revoked when its `jti` (or the `jti` of a token it was exchanged
// from) is listed, or when its subject, client, grant (or the client of a token it was exchanged
// from) was revoked at or after the moment the token was issued. A check costs one round trip.
//
// Times are milliseconds since the epoch (at second precision a token issued in the
// same second *after* a revocation was born revoked). A token is revoked when
// issuedAt <= revokedAt: a token issued in the very millisecond of the revocation counts as
// before it (fails closed); the revocation answers only once its millisecond has passed
// (revocation/revocations.ts), so anything issued after that answer lives.
import type { Queryable } from '../database.js';

export type RevocationKind = 'sub' | 'client' | 'grant';

/** A token this one was exchanged from (RFC 8693): revoking it, or its client, revokes this one. */
export interface ExchangeAncestor {
  jti?: string | undefined;
  clientId?: string | undefined;
}

export interface TokenIdentity {
  jti: string;
  /** When the token was issued, ms since the epoch: see src/verify/token-format.ts issuedAtMs(). */
  issuedAt: number;
  sub?: string | undefined;
  clientId?: string | undefined;
  grantId?: string | undefined;
  /** The chain of tokens it was exchanged from, nearest first (empty or absent: none). */
  exchangedFrom?: readonly ExchangeAncestor[] | undefined;
}

export interface RevocationWriter {
  /** Lists a token id as revoked until expiresAt (epoch seconds), when the token dies anyway. */
  revokeToken(jti: string, expiresAt: number): Promise<void>;
  /**
   * Revokes every token of this subject / client / grant issued at or before `at` (ms since the
   * epoch); the mark is kept `lifetime` seconds.
   */
  revokeIssuedBefore(kind: RevocationKind, id: string, at: number, lifetime: number): Promise<void>;
}

/**
 * Revocation state: recorded in Postgres (stores/revocations/record.ts), copied to Redis when
 * there is one (revocation/revocations.ts). Each write on its own is one transaction.
 */
export interface RevocationStore extends RevocationWriter {
  isRevoked(token: TokenIdentity): Promise<boolean>;
  /**
   * Runs `change` in one Postgres transaction, with a writer whose revocations are recorded in
   * that transaction: an admin change and the revocations it implies commit together or not at
   * all (an outbox), and its NOTIFYs go out with the commit.
   */
  withChange<T>(change: (tx: Queryable, revoke: RevocationWriter) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * How long a "revoked before" mark is kept: as long as anything it covers can live — refresh
 * tokens, sessions and grants (14 days, src/oidc/config/ttl.ts) — plus slack.
 */
export const revokedBeforeLifetime = 14 * 24 * 60 * 60 + 60;

/**
 * Marks written before migration 009 (and by instances not yet upgraded) hold epoch seconds:
 * every value below 10^11 is one (10^11 ms is 1973; 10^11 s is the year 5138). Such a mark
 * covered the whole second, so it reads as that second's last millisecond.
 */
export const secondsBelow = 100_000_000_000;

export function revokedAtMs(value: number): number {
  return value < secondsBelow ? value * 1000 + 999 : value;
}

/** The ids a token is checked under: its own and those of the tokens it was exchanged from. */
export function lineageOf(token: TokenIdentity): { jtis: string[]; clientIds: string[] } {
  const jtis = new Set([token.jti]);
  const clientIds = new Set<string>();
  if (token.clientId) clientIds.add(token.clientId);
  for (const ancestor of token.exchangedFrom ?? []) {
    if (ancestor.jti) jtis.add(ancestor.jti);
    if (ancestor.clientId) clientIds.add(ancestor.clientId);
  }
  return { jtis: [...jtis], clientIds: [...clientIds] };
}
