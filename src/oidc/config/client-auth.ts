// Client authentication methods and the algorithms we accept anywhere a client signs or asks
// us to sign. No HMAC (client secrets exist only as digests, and symmetric algorithms invite
// key confusion, RFC 8725 §2.1/§3.1) and never the `none` algorithm. (The `none` client
// authentication method is for public clients, which must use PKCE.)
import type { AsymmetricSigningAlgorithm, ClientAuthMethod, Configuration, EncryptionAlgValues, EncryptionEncValues } from 'oidc-provider';
import { dpopSigningAlgorithms } from '../../verify/dpop-proof.js';

export const clientAuthMethods: ClientAuthMethod[] = ['private_key_jwt', 'client_secret_basic', 'client_secret_post', 'none'];

const asymmetric: AsymmetricSigningAlgorithm[] = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'Ed25519', 'EdDSA'];

/**
 * Encryption to a client's own public key only (RFC 7516 with RFC 7518 §4.3 / §4.6): the symmetric
 * algorithms (`dir`, `A128KW`...) would use the client secret as the key, and we keep secrets only
 * as digests.
 */
export const responseEncryptionAlgs: EncryptionAlgValues[] = ['RSA-OAEP-256', 'RSA-OAEP', 'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A256KW'];
export const responseEncryptionEncs: EncryptionEncValues[] = ['A256GCM', 'A128GCM', 'A256CBC-HS512', 'A128CBC-HS256'];

export const enabledJWA = {
  clientAuthSigningAlgValues: asymmetric,
  idTokenSigningAlgValues: ['RS256', 'ES256'],
  requestObjectSigningAlgValues: asymmetric,
  userinfoSigningAlgValues: ['RS256', 'ES256'],
  introspectionSigningAlgValues: ['RS256', 'ES256'],
  // RFC 9701 §4 encrypted introspection answers; nothing else is encrypted (no client can register for it).
  introspectionEncryptionAlgValues: responseEncryptionAlgs,
  introspectionEncryptionEncValues: responseEncryptionEncs,
  idTokenEncryptionAlgValues: [],
  idTokenEncryptionEncValues: [],
  userinfoEncryptionAlgValues: [],
  userinfoEncryptionEncValues: [],
  authorizationEncryptionAlgValues: [],
  authorizationEncryptionEncValues: [],
  requestObjectEncryptionAlgValues: [],
  requestObjectEncryptionEncValues: [],
  authorizationSigningAlgValues: ['RS256', 'ES256'],
  // The proof rule's own list (src/verify/dpop-proof.ts), which the gate in front of the library checks.
  dPoPSigningAlgValues: [...dpopSigningAlgorithms],
} satisfies Configuration['enabledJWA'];
