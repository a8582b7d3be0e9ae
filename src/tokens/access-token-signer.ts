// Signs the JWTs this server issues outside the library — RFC 9068 access tokens and Transaction
// Tokens — with the key the provider in force signs access tokens with: the active ES256 key of
// the key ring's current phase (keys/key-schedule.ts puts it first among the ES256 keys, which is
// the one oidc-provider's keystore selects). The private key is imported once per phase. Each
// token type has its own `typ` (RFC 8725 §3.11), so one cannot pass for another.
import { CompactSign, importJWK, type CryptoKey } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';
import type { KeyPhase } from '../keys/key-schedule.js';
import { accessTokenClaims, type AccessTokenContent } from './claims.js';
import { accessTokenSigningAlg, accessTokenType } from './format.js';

/** Signs the access token with this content (claims.ts builds its claim set). */
export type SignAccessToken = (token: AccessTokenContent) => Promise<string>;

/** Signs a JWT of another type (`typ`) with the same key. */
export type SignJwt = (typ: string, claims: Record<string, unknown>) => Promise<string>;

interface PhaseSigner {
  kid: string;
  key: Promise<CryptoKey | Uint8Array>;
}

export function createJwtSigner(keyRing: KeyRing): SignJwt {
  const signers = new WeakMap<KeyPhase, PhaseSigner>();
  const signerOf = (phase: KeyPhase): PhaseSigner => {
    let signer = signers.get(phase);
    if (!signer) {
      const kid = phase.signers[accessTokenSigningAlg];
      const jwk = phase.providerKeys.find((key) => key.kid === kid);
      if (!jwk) throw new Error(`the active ${accessTokenSigningAlg} key ${kid} is missing from the key phase`);
      signer = { kid, key: importJWK(jwk, accessTokenSigningAlg) };
      signers.set(phase, signer);
    }
    return signer;
  };
  return async function signJwt(typ, claims) {
    const { kid, key } = signerOf(keyRing.current());
    return new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg: accessTokenSigningAlg, typ, kid }).sign(await key);
  };
}

export function createAccessTokenSigner(signJwt: SignJwt): SignAccessToken {
  return (token) => signJwt(accessTokenType, accessTokenClaims(token));
}
