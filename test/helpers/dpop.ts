// DPoP proofs (RFC 9449 §4.2) made by hand, for tests that need a proof a client library would
// never make: a wrong htu, an old iat, an HMAC signature, a private key in the header.
import crypto from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface DpopKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  /** RFC 7638 thumbprint: the `cnf.jkt` a token bound to this key carries. */
  jkt: string;
  alg: string;
}

export async function dpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256'), alg };
}

export interface ProofOptions {
  htm?: string;
  htu: string;
  /** The access token the proof goes with (its `ath`). */
  accessToken?: string;
  nonce?: string;
  iat?: number;
  jti?: string;
  /** Claims or header members to replace (or remove, with undefined). */
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

export async function dpopProof(key: DpopKey, options: ProofOptions): Promise<string> {
  const claims: Record<string, unknown> = {
    htm: options.htm ?? 'POST',
    htu: options.htu,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    jti: options.jti ?? crypto.randomUUID(),
    ...(options.accessToken ? { ath: crypto.hash('sha256', options.accessToken, 'base64url') } : {}),
    ...(options.nonce ? { nonce: options.nonce } : {}),
    ...options.claims,
  };
  const header = { alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk, ...options.header };
  return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
}
