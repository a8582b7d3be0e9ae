// The public keys DPoP proofs carry (RFC 9449 §4.2 `jwk`), ready to verify with: imported once per
// key and remembered, with their RFC 7638 thumbprint, because a client signs every proof with the
// same key; and verified on libuv's thread pool (node:crypto's callback form), so the signature
// check of a busy token endpoint runs beside the event loop instead of on it.
//
// The JWS rules kept (RFC 7515 §5.2, RFC 7518 §3): the key type and curve fit the algorithm (ES256
// only with P-256, and so on; RSA keys of 2048 bits at least, RFC 7518 §3.3), ECDSA signatures in
// the JWS form (r || s, RFC 7518 §3.4), RSASSA-PSS with a salt as long as the hash (§3.5), and a
// `jwk` that says `use` or `alg` must say `sig` and the header's alg.
import crypto from 'node:crypto';

export interface ProofKey {
  /** RFC 7638 SHA-256 thumbprint, base64url: what `cnf.jkt` names (RFC 9449 §6.1). */
  readonly jkt: string;
  /** Whether `signature` is this key's signature of `signingInput` under `alg`. */
  verify(signingInput: string, signature: Buffer): Promise<boolean>;
}

interface AlgorithmRule {
  kty: 'EC' | 'RSA' | 'OKP';
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  crv?: readonly string[];
  options?: Partial<crypto.VerifyKeyObjectInput>;
}

const rules: Record<string, AlgorithmRule> = {
  ES256: { kty: 'EC', hash: 'sha256', crv: ['P-256'], options: { dsaEncoding: 'ieee-p1363' } },
  ES384: { kty: 'EC', hash: 'sha384', crv: ['P-384'], options: { dsaEncoding: 'ieee-p1363' } },
  ES512: { kty: 'EC', hash: 'sha512', crv: ['P-521'], options: { dsaEncoding: 'ieee-p1363' } },
  RS256: { kty: 'RSA', hash: 'sha256' },
  RS384: { kty: 'RSA', hash: 'sha384' },
  RS512: { kty: 'RSA', hash: 'sha512' },
  PS256: { kty: 'RSA', hash: 'sha256', options: { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } },
  PS384: { kty: 'RSA', hash: 'sha384', options: { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 } },
  PS512: { kty: 'RSA', hash: 'sha512', options: { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 } },
  Ed25519: { kty: 'OKP', hash: null, crv: ['Ed25519'] },
  EdDSA: { kty: 'OKP', hash: null, crv: ['Ed25519', 'Ed448'] },
};

/** RFC 7638 §3.2: the required members of each key type, in lexicographic order. */
const thumbprintMembers: Record<AlgorithmRule['kty'], readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
};

const cacheLimit = 10_000;
const cache = new Map<string, ProofKey>();

function rememberKey(id: string, key: ProofKey): ProofKey {
  if (cache.size >= cacheLimit) cache.delete(cache.keys().next().value!);
  cache.set(id, key);
  return key;
}

/** The key of a proof's `jwk` for `alg`, or why it cannot be one (a sentence for error_description). */
export function proofKeyOf(jwk: Record<string, unknown>, alg: string): ProofKey | string {
  const rule = rules[alg];
  if (!rule) return `the DPoP proof's alg ${alg} is not supported`;
  if (jwk.kty !== rule.kty) return `the DPoP proof's jwk must be a ${rule.kty} key for ${alg}`;
  if (rule.crv && !rule.crv.includes(jwk.crv as string)) return `the DPoP proof's jwk must be on ${rule.crv.join(' or ')} for ${alg}`;
  if (jwk.use !== undefined && jwk.use !== 'sig') return 'the DPoP proof\'s jwk "use" must be "sig" when present';
  if (jwk.alg !== undefined && jwk.alg !== alg) return `the DPoP proof's jwk "alg" must be ${alg} when present`;
  const members = thumbprintMembers[rule.kty];
  if (members.some((member) => typeof jwk[member] !== 'string' || jwk[member] === '')) {
    return `the DPoP proof's jwk lacks ${members.filter((member) => typeof jwk[member] !== 'string').join(', ')}`;
  }
  // RFC 7638 §3: the thumbprint input is the required members, in order, without whitespace.
  const canonical = JSON.stringify(Object.fromEntries(members.map((member) => [member, jwk[member]])));
  const id = `${alg}|${canonical}`;
  const known = cache.get(id);
  if (known) return known;
  let keyObject: crypto.KeyObject;
  try {
    keyObject = crypto.createPublicKey({ key: Object.fromEntries(members.map((member) => [member, jwk[member]])), format: 'jwk' });
  } catch {
    return `the DPoP proof's jwk is not a ${alg} public key`;
  }
  if (rule.kty === 'RSA' && (keyObject.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return 'the DPoP proof\'s RSA key must have at least 2048 bits';
  const input = { key: keyObject, ...rule.options };
  return rememberKey(id, {
    jkt: crypto.hash('sha256', canonical, 'base64url'),
    verify: (signingInput, signature) =>
      new Promise((resolve) => {
        crypto.verify(rule.hash, Buffer.from(signingInput), input, signature, (error, valid) => resolve(!error && valid));
      }),
  });
}
