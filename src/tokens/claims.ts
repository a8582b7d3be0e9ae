// The claim set of our JWT access tokens (RFC 9068 §2.2), built the way oidc-provider builds it
// (oidc-provider/lib/models/formats/jwt.js getValueAndPayload: the extra claims first, then `jti`, `sub`,
// `iat`, `exp`, `scope`, `client_id`, `iss`, `aud`), so a token from a fast path and one from
// the library carry the same claims in the same order; and what a verified token says about
// itself to the revocation state.
import type { JWTPayload } from 'jose';
import type { TokenIdentity } from '../stores/revocations/types.js';
import { issuedAtMs } from '../verify/token-format.js';
import { exchangedFromClaim, issuedAtMsClaim, readExchangedFrom } from './token-claims.js';

export interface AccessTokenClaims extends JWTPayload {
  jti: string;
  iat: number;
  exp: number;
  client_id?: string;
  scope?: string;
  /** The issue time in ms (tokens/token-claims.ts); absent on tokens issued before it existed. */
  iat_ms?: number;
  exchanged_from?: unknown;
  /** RFC 9449 §6.1: the key a DPoP-bound token is bound to. */
  cnf?: { jkt?: string };
}

export interface AccessTokenContent {
  /** Our private claims (tokens/token-claims.ts, `act`, `gid`): first, as the library puts its `extraTokenClaims`. */
  extra: Record<string, unknown>;
  jti: string;
  sub: string;
  /** NumericDate (RFC 7519 §2) of issue. */
  iat: number;
  /** Seconds the token lives: `exp` = `iat` + lifetime. */
  lifetime: number;
  scope: string;
  clientId: string;
  issuer: string;
  audience: string;
  /** RFC 9449 §6.1: the thumbprint of the key the token is bound to (`cnf.jkt`); unbound without. */
  jkt?: string | undefined;
}

export function accessTokenClaims(token: AccessTokenContent): Record<string, unknown> {
  return {
    ...token.extra,
    jti: token.jti,
    sub: token.sub,
    iat: token.iat,
    exp: token.iat + token.lifetime,
    // The library leaves out an empty scope (`scope || undefined`); JSON drops undefined.
    scope: token.scope || undefined,
    client_id: token.clientId,
    iss: token.issuer,
    aud: token.audience,
    // Last, as the library adds it.
    ...(token.jkt ? { cnf: { jkt: token.jkt } } : {}),
  };
}

/** What the revocation state is keyed by, for a verified token (stores/revocations/types.ts). */
/** The audiences an `aud` claim names (RFC 7519 §4.1.3: one string or an array of them). */
export function audiencesOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((value): value is string => typeof value === 'string') : [];
}

export function tokenIdentity(claims: AccessTokenClaims): TokenIdentity {
  return {
    jti: claims.jti,
    issuedAt: issuedAtMs(claims.iat, claims[issuedAtMsClaim]),
    sub: claims.sub,
    clientId: claims.client_id,
    grantId: typeof claims.gid === 'string' ? claims.gid : undefined,
    exchangedFrom: readExchangedFrom(claims[exchangedFromClaim]) ?? [],
  };
}
