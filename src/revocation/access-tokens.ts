// Verifies that a string is an RFC 9068 access token of ours (our keys, our issuer, at+jwt,
// unexpired) and reads the identity the revocation state is keyed by.
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { toPublicJwk } from '../keys/keystore.js';
import { accessTokenSigningAlg } from '../oidc/config/resource-indicators.js';
import { issuedAtMs, type TokenIdentity } from '../stores/revocations/types.js';
import { exchangedFromClaim, issuedAtMsClaim, readExchangedFrom } from './token-claims.js';
import { VerifiedTokens } from './verified-tokens.js';

export interface AccessTokenClaims extends JWTPayload {
  jti: string;
  iat: number;
  exp: number;
  client_id?: string;
  scope?: string;
  /** The issue time in ms (token-claims.ts); absent on tokens issued before it existed. */
  iat_ms?: number;
  exchanged_from?: unknown;
}

export type VerifiedAccessToken =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; reason: 'expired' | 'invalid' };

/** True when the string looks like a JWS at all (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/** Tokens remembered as verified per key set: about 2 KiB each, so at most ~8 MiB. */
const verifiedTokensPerKeySet = 4096;

interface KeySetState {
  keySet: ReturnType<typeof createLocalJWKSet>;
  verified: VerifiedTokens;
}

/** Verifies against the keys published at the moment (they change with key rotation). */
export function createAccessTokenVerifier(options: { issuer: string; publishedKeys: () => readonly JWK[]; clockTolerance: number }) {
  const keySets = new WeakMap<readonly JWK[], KeySetState>();
  const currentKeySet = (): KeySetState => {
    const keys = options.publishedKeys();
    let state = keySets.get(keys);
    if (!state) {
      state = { keySet: createLocalJWKSet({ keys: keys.map(toPublicJwk) }), verified: new VerifiedTokens(verifiedTokensPerKeySet) };
      keySets.set(keys, state);
    }
    return state;
  };
  return async function verifyAccessToken(token: string): Promise<VerifiedAccessToken> {
    const { keySet, verified } = currentKeySet();
    const known = verified.get(token, Math.floor(Date.now() / 1000), options.clockTolerance);
    if (known) return { ok: true, claims: known };
    try {
      const { payload } = await jwtVerify(token, keySet, {
        issuer: options.issuer,
        typ: 'at+jwt',
        algorithms: [accessTokenSigningAlg],
        requiredClaims: ['jti', 'iat', 'exp'],
        clockTolerance: options.clockTolerance,
      });
      // Ours are well formed; a lineage we cannot read could not be checked for revocation.
      if (!readExchangedFrom(payload[exchangedFromClaim])) return { ok: false, reason: 'invalid' };
      const claims = Object.freeze(payload) as AccessTokenClaims;
      verified.remember(token, claims);
      return { ok: true, claims };
    } catch (error) {
      return { ok: false, reason: error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
    }
  };
}

export type VerifyAccessToken = ReturnType<typeof createAccessTokenVerifier>;

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
