// Verifies that a string is an RFC 9068 access token of ours (our keys, our issuer, at+jwt,
// unexpired), for every path that checks one: introspection, revocation, token exchange, the
// admin API and the revocation feed. Whether it is revoked is the caller's next question, asked
// of the revocation store with tokenIdentity (claims.ts) on every use.
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWK } from 'jose';
import { toPublicJwk } from '../keys/keystore.js';
import { exchangedFromClaim, readExchangedFrom } from './token-claims.js';
import type { AccessTokenClaims } from './claims.js';
import { accessTokenRequiredClaims, accessTokenSigningAlg, accessTokenType } from './format.js';
import { VerifiedTokens } from './verified-tokens.js';

export type VerifiedAccessToken =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; reason: 'expired' | 'invalid' };

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
        typ: accessTokenType,
        algorithms: [accessTokenSigningAlg],
        requiredClaims: [...accessTokenRequiredClaims],
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
