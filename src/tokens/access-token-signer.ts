// Signs RFC 9068 access tokens with the key the provider in force signs with: the active ES256
// key of the key ring's current phase (keys/key-schedule.ts puts it first among the ES256 keys,
// which is the one oidc-provider's keystore selects). The private key is imported once per phase.
import { CompactSign, importJWK, type CryptoKey } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';
import type { KeyPhase } from '../keys/key-schedule.js';
import { accessTokenClaims, type AccessTokenContent } from './claims.js';
import { accessTokenSigningAlg, accessTokenType } from './format.js';

/** Signs the access token with this content (claims.ts builds its claim set). */
export type SignAccessToken = (token: AccessTokenContent) => Promise<string>;

interface PhaseSigner {
  kid: string;
  key: Promise<CryptoKey | Uint8Array>;
}

export function createAccessTokenSigner(keyRing: KeyRing): SignAccessToken {
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
  return async function signAccessToken(token) {
    const { kid, key } = signerOf(keyRing.current());
    return new CompactSign(Buffer.from(JSON.stringify(accessTokenClaims(token))))
      .setProtectedHeader({ alg: accessTokenSigningAlg, typ: accessTokenType, kid })
      .sign(await key);
  };
}
