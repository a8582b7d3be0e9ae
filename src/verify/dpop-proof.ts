// DPoP proofs (RFC 9449), checked the same way by the server (its token endpoint, its own
// resource endpoints) and by an API through this package: every check of §4.3, each refusal
// naming the check that failed, so a client developer knows what to change.
//
// What this does not do: remember `jti`s (the caller does, where its replay store lives: the
// server across instances, an API in its process) and decide whether a proof was needed.
import crypto from 'node:crypto';
import { proofKeyOf } from './proof-keys.js';

/** §4.2: the `typ` of a proof. */
export const dpopProofType = 'dpop+jwt';

/**
 * The proof algorithms accepted (§4.3 item 5: asymmetric only, never `none` or a MAC), advertised
 * as `dpop_signing_alg_values_supported` (§5.1).
 */
export const dpopSigningAlgorithms = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'Ed25519', 'EdDSA'] as const;

/** §4.3 item 11: how far a proof's `iat` may lie in the past (the library's window, 300 s). */
export const dpopProofMaxAgeSeconds = 300;

/** Which check of §4.3 refused a proof: a stable name to log or branch on. */
export type DpopProofCheck = 'header' | 'typ' | 'alg' | 'jwk' | 'signature' | 'jti' | 'iat' | 'htm' | 'htu' | 'ath' | 'nonce';

export interface DpopProofRequest {
  /** Every `DPoP` header of the request (§4.3 item 1: exactly one). */
  proofs: readonly string[];
  /** The request method (`htm`, §4.2). */
  method: string;
  /** The request URL; its query and fragment are ignored (`htu`, §4.2, §4.3 item 9). */
  url: string;
  /** The access token sent with the proof, whose hash `ath` must be (§4.3 item 12). */
  accessToken?: string | undefined;
}

export interface DpopNonces {
  /** §8: whether every proof must carry a nonce. */
  required: boolean;
  isValid(nonce: string): boolean;
}

export interface DpopProofPolicy {
  /** Seconds of clock skew tolerated: how far `iat` may lie in the future. */
  clockTolerance: number;
  /** Server nonces (§8); without them a proof carrying a `nonce` is refused. */
  nonces?: DpopNonces | undefined;
  algorithms?: readonly string[];
  /** Now, in seconds since the epoch. */
  now?: number;
}

export interface VerifiedDpopProof {
  ok: true;
  /** The RFC 7638 SHA-256 thumbprint of the proof's key: the `cnf.jkt` it binds a token to (§6.1). */
  jkt: string;
  jti: string;
  iat: number;
  /** The server nonce the proof carried, when it was valid (§8): its freshness may rest on it (§11.1). */
  nonce?: string | undefined;
}

export interface RefusedDpopProof {
  ok: false;
  check: DpopProofCheck;
  /** For `error_description`: what is wrong, in a sentence. */
  description: string;
  /** §8: refused for want of a (current) nonce: answer `use_dpop_nonce` with a fresh one. */
  useNonce: boolean;
}

export type DpopProofResult = VerifiedDpopProof | RefusedDpopProof;

const refuse = (check: DpopProofCheck, description: string, useNonce = false): RefusedDpopProof => ({ ok: false, check, description, useNonce });

/** Members that only a private or symmetric JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** §4.3 item 12 / §6.1: base64url(SHA-256(token)). */
export function accessTokenHash(accessToken: string): string {
  return crypto.hash('sha256', accessToken, 'base64url');
}

/** `htu` as compared: the URL without query and fragment (§4.3 item 9, RFC 3986 §6.2.2 and §6.2.3 normalisation by URL). */
export function comparableHtu(url: string): string | undefined {
  const parsed = URL.parse(url);
  if (!parsed) return undefined;
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}

function readJson(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Checks one request's proof; resolves (never throws) with the key it proves or the failed check. */
export async function verifyDpopProof(request: DpopProofRequest, policy: DpopProofPolicy): Promise<DpopProofResult> {
  // Repeated headers may also arrive joined into one (RFC 9110 §5.3): a JWS has no comma.
  if (request.proofs.length !== 1 || request.proofs[0]!.includes(',')) return refuse('header', 'exactly one DPoP header is allowed');
  const [proof] = request.proofs as [string];
  // JWS compact serialization (RFC 7515 §7.1): three base64url parts, the first two JSON objects.
  const parts = proof.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) return refuse('header', 'the DPoP header is not a JWT');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = readJson(Buffer.from(encodedHeader, 'base64url'));
  if (!header) return refuse('header', 'the DPoP header is not a JWT');
  if (header.typ !== dpopProofType) return refuse('typ', `the DPoP proof's typ must be ${dpopProofType}`);
  const algorithms: readonly string[] = policy.algorithms ?? dpopSigningAlgorithms;
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
    return refuse('alg', `the DPoP proof's alg must be one of ${algorithms.join(', ')}`);
  }
  // RFC 7515 §4.1.11: an extension the recipient must understand; none is defined for proofs.
  if (header.crit !== undefined) return refuse('header', 'the DPoP proof must not have a crit header');
  const { jwk } = header;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return refuse('jwk', 'the DPoP proof must carry its public key as jwk');
  if (privateMembers.some((member) => member in jwk)) return refuse('jwk', 'the DPoP proof\'s jwk must be a public key, without private members');
  const key = proofKeyOf(jwk as Record<string, unknown>, header.alg);
  if (typeof key === 'string') return refuse('jwk', key);
  if (!(await key.verify(`${encodedHeader}.${encodedPayload}`, Buffer.from(encodedSignature, 'base64url')))) {
    return refuse('signature', 'the DPoP proof\'s signature does not verify with its jwk');
  }
  const payload = readJson(Buffer.from(encodedPayload, 'base64url'));
  if (!payload) return refuse('header', 'the DPoP proof\'s payload is not a JSON object');
  if (typeof payload.jti !== 'string' || payload.jti === '') return refuse('jti', 'the DPoP proof must have a jti');
  if (payload.htm !== request.method) return refuse('htm', `the DPoP proof's htm must be ${request.method}`);
  const expected = comparableHtu(request.url);
  if (typeof payload.htu !== 'string' || comparableHtu(payload.htu) !== expected) {
    return refuse('htu', `the DPoP proof's htu must be ${expected}`);
  }
  if (request.accessToken !== undefined && payload.ath !== accessTokenHash(request.accessToken)) {
    return refuse('ath', 'the DPoP proof\'s ath must be the hash of the access token it is sent with');
  }
  const { nonces } = policy;
  const { nonce } = payload;
  if (nonce !== undefined && (typeof nonce !== 'string' || nonce === '')) return refuse('nonce', 'the DPoP proof\'s nonce must be a string');
  if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) return refuse('iat', 'the DPoP proof must have a numeric iat');
  const now = policy.now ?? Math.floor(Date.now() / 1000);
  // The proof's own time must be recent (§4.3 item 11), with a nonce too: a nonce does not stand
  // in for it here (the library lets it), because the replay stores reckon how long a proof may
  // have been in use from its `iat` (src/tokens/dpop-proofs.ts), and that must hold after a loss.
  if (payload.iat > now + policy.clockTolerance) return refuse('iat', 'the DPoP proof\'s iat is in the future');
  if (now - payload.iat > dpopProofMaxAgeSeconds) return refuse('iat', `the DPoP proof's iat is more than ${dpopProofMaxAgeSeconds} s old`);
  const nonced = nonce !== undefined && nonces !== undefined && nonces.isValid(nonce);
  if (nonce !== undefined && !nonces) return refuse('nonce', 'this server issues no DPoP nonces');
  if (nonce !== undefined && !nonced) return refuse('nonce', 'the DPoP nonce is not valid or has expired', true);
  if (!nonced && nonces?.required) return refuse('nonce', 'a DPoP nonce is required', true);
  return { ok: true, jkt: key.jkt, jti: payload.jti, iat: payload.iat, nonce: nonced ? nonce : undefined };
}
