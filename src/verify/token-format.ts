// The wire format of a Portcullis access token, defined once for both sides: the server's token
// core signs and checks tokens by it (src/tokens/format.ts, token-claims.ts), and an API checks
// them by it through this package. It lives here, not in the server, because this package must
// build on its own (packages/verify/tsconfig.json compiles src/verify only): the server imports
// it, never the other way round.

/** The JWS algorithm access tokens are signed with (docs/DESIGN.md "Protocol surface"). */
export const accessTokenSigningAlg = 'ES256' as const;

/**
 * The algorithms Portcullis signs access tokens with. The JWKS also holds keys for other token
 * types (an RS256 key for ID tokens, which OpenID Connect requires): RFC 8725 §3.1 asks that
 * each token type accept only its own algorithms, so a token signed with another type's key
 * is refused by its algorithm, not only by its `typ`.
 */
export const accessTokenAlgorithms: readonly string[] = [accessTokenSigningAlg];

/** RFC 9068 §2.1: the `typ` header of a JWT access token. */
export const accessTokenType = 'at+jwt';

/** The claims every access token carries (RFC 9068 §2.2 requires `exp`, `iat` and `jti`). */
export const accessTokenRequiredClaims: readonly string[] = ['exp', 'iat', 'jti'];

/**
 * Our private claim with a token's issue time in milliseconds since the epoch: an integer inside
 * the second `iat` names (`iat` stays an integer NumericDate, RFC 7519 §2, for everyone else).
 * Revocations are compared at millisecond precision.
 */
export const issuedAtMsClaim = 'iat_ms';

/**
 * A token's issue time in ms. `precise` (the `iat_ms` claim, or the precise time a stored record
 * carries) counts only when it is an integer inside the second `iat` names; a token without it
 * (issued before precise times existed) is taken to be issued at the first millisecond of its
 * second, so a revocation in that second revokes it (fails closed). No `iat` at all is 0.
 */
export function issuedAtMs(iat: unknown, precise: unknown): number {
  const second = typeof iat === 'number' ? Math.floor(iat) * 1000 : 0;
  if (typeof precise === 'number' && Number.isInteger(precise) && precise >= second && precise < second + 1000) return precise;
  return second;
}
