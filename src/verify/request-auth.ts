// An API's side of RFC 9449 §7 and RFC 6750: read the access token of a request (Bearer or DPoP),
// and for a DPoP-bound token check the request's proof (the same rule the server applies:
// dpop-proof.ts) and that it is signed by the key the token is bound to; and the answer to give
// when anything fails (status and WWW-Authenticate, §7.1 and §9 for DPoP, RFC 6750 §3 for Bearer).
import { TokenVerificationError, type TokenVerificationCode } from './errors.js';
import { dpopProofMaxAgeSeconds, dpopSigningAlgorithms, verifyDpopProof, type DpopNonces, type DpopProofCheck } from './dpop-proof.js';

/** What an API knows of an incoming request. */
export interface IncomingRequest {
  method: string;
  /** The URL the client called, as it named it (behind a proxy: the public one). */
  url: string;
  /** Request headers; a header given twice is an array (as node's IncomingMessage gives them). */
  headers: Record<string, string | string[] | undefined> | Headers;
}

export interface PresentedAccessToken {
  scheme: 'Bearer' | 'DPoP';
  token: string;
}

function header(headers: IncomingRequest['headers'], name: string): string[] {
  if (headers instanceof Headers) {
    const value = headers.get(name);
    return value === null ? [] : [value];
  }
  const value = headers[name] ?? headers[name.toLowerCase()];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The access token of the Authorization header (RFC 6750 §2.1, RFC 9449 §7.1); undefined when there is none. */
export function presentedAccessToken(request: IncomingRequest): PresentedAccessToken | undefined {
  const [authorization] = header(request.headers, 'authorization');
  if (authorization === undefined || authorization === '') return undefined;
  const match = /^(Bearer|DPoP) ([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization);
  if (!match) throw new TokenVerificationError('ERR_TOKEN_INVALID', 'the Authorization header must be: Bearer <token> or DPoP <token>');
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
}

export interface DpopCheckOptions {
  clockToleranceSeconds: number;
  /** Server nonces of this API (§9), when it issues any. */
  nonces?: (DpopNonces & { next(): string }) | undefined;
}

/** Proofs seen by this process, kept while they could still be accepted (§11.1: one use each). */
export class SeenProofs {
  readonly #expiries = new Map<string, number>();

  constructor(private readonly capacity = 100_000) {}

  /** True the first time (jkt, jti) is seen within its lifetime; false for a replay. */
  firstUse(jkt: string, jti: string, keepUntilMs: number, nowMs = Date.now()): boolean {
    const key = `${jkt}.${jti}`;
    const known = this.#expiries.get(key);
    if (known !== undefined && known > nowMs) return false;
    // Entries go in roughly in expiry order: drop the expired ones from the front.
    for (const [oldest, expiry] of this.#expiries) {
      if (expiry > nowMs && this.#expiries.size < this.capacity) break;
      this.#expiries.delete(oldest);
    }
    this.#expiries.set(key, keepUntilMs);
    return true;
  }
}

/** A refused proof as a verification error (its code says which §4.3 check, its `check` too). */
export class DpopProofError extends TokenVerificationError {
  constructor(
    code: TokenVerificationCode,
    message: string,
    readonly check: DpopProofCheck | 'replay' | 'key' | 'missing',
    /** §9: the nonce to send in `DPoP-Nonce` with a use_dpop_nonce answer. */
    readonly nonce?: string,
  ) {
    super(code, message);
  }
}

/**
 * Checks the request's DPoP proof for `token`, bound to `jkt` (§7.1, §4.3): one proof, by that
 * key, for this method and URL, with the token's hash, fresh, not seen before in this process.
 */
export async function checkDpopProof(request: IncomingRequest, token: string, jkt: string, seen: SeenProofs, options: DpopCheckOptions): Promise<void> {
  const proofs = header(request.headers, 'dpop');
  if (proofs.length === 0) throw new DpopProofError('ERR_DPOP_PROOF_INVALID', 'a DPoP proof is required with this access token', 'missing');
  const result = await verifyDpopProof(
    { proofs, method: request.method, url: request.url, accessToken: token },
    { clockTolerance: options.clockToleranceSeconds, nonces: options.nonces },
  );
  if (!result.ok) {
    if (result.useNonce) throw new DpopProofError('ERR_DPOP_NONCE_REQUIRED', result.description, result.check, options.nonces?.next());
    throw new DpopProofError('ERR_DPOP_PROOF_INVALID', result.description, result.check);
  }
  if (result.jkt !== jkt) throw new DpopProofError('ERR_DPOP_PROOF_INVALID', 'the DPoP proof is not signed by the key the access token is bound to', 'key');
  // Kept while its `iat` is recent enough to be accepted again (dpop-proof.ts).
  const keepUntilMs = (Math.ceil(result.iat) + dpopProofMaxAgeSeconds + options.clockToleranceSeconds) * 1000;
  if (!seen.firstUse(result.jkt, result.jti, keepUntilMs)) {
    throw new DpopProofError('ERR_DPOP_PROOF_REPLAYED', 'the DPoP proof has been used already', 'replay');
  }
}

export interface ChallengeOptions {
  /** Names this API in the challenge (RFC 6750 §3). */
  realm?: string;
  /** The scope the operation needs, for an insufficient_scope answer (RFC 6750 §3.1). */
  scope?: string;
}

export interface AuthenticationFailure {
  status: 401 | 403 | 503;
  headers: Record<string, string>;
  body: { error: string; error_description: string };
}

// RFC 6750 §3: auth-param values are quoted strings without quote or backslash.
const quoted = (text: string) => `"${text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "'")}"`;

/**
 * The HTTP answer for a failed authentication: 401 with a `WWW-Authenticate` challenge in the
 * scheme the token was sent with (a bound token or a proof problem: DPoP, §7.1), 403
 * insufficient_scope, 503 when the revocation state is not known (fail closed; retry later).
 */
export function authenticationFailure(error: unknown, request?: IncomingRequest, options: ChallengeOptions = {}): AuthenticationFailure {
  let presented: PresentedAccessToken | undefined;
  try {
    presented = request && presentedAccessToken(request);
  } catch {
    presented = undefined;
  }
  const code = error instanceof TokenVerificationError ? error.code : 'ERR_TOKEN_INVALID';
  const description = error instanceof Error ? error.message : 'the access token is not valid for this API';
  const realm = options.realm ? `realm=${quoted(options.realm)}, ` : '';
  const dpopParams = `algs="${dpopSigningAlgorithms.join(' ')}"`;
  const answer = (status: AuthenticationFailure['status'], scheme: 'Bearer' | 'DPoP', oauthError: string, extra: Record<string, string> = {}): AuthenticationFailure => ({
    status,
    headers: {
      'WWW-Authenticate': `${scheme} ${realm}error="${oauthError}", error_description=${quoted(description)}${scheme === 'DPoP' ? `, ${dpopParams}` : ''}${
        oauthError === 'insufficient_scope' && options.scope ? `, scope=${quoted(options.scope)}` : ''
      }`,
      ...extra,
    },
    body: { error: oauthError, error_description: description },
  });
  const scheme = presented?.scheme ?? 'Bearer';
  switch (code) {
    case 'ERR_TOKEN_MISSING':
      // RFC 6750 §3.1: no credentials, no error code; both schemes are offered.
      return {
        status: 401,
        headers: { 'WWW-Authenticate': `Bearer${options.realm ? ` realm=${quoted(options.realm)}` : ''}, DPoP ${realm}${dpopParams}` },
        body: { error: 'invalid_request', error_description: description },
      };
    case 'ERR_DPOP_PROOF_INVALID':
    case 'ERR_DPOP_PROOF_REPLAYED':
      return answer(401, 'DPoP', 'invalid_dpop_proof');
    case 'ERR_DPOP_NONCE_REQUIRED': {
      const nonce = error instanceof DpopProofError ? error.nonce : undefined;
      return answer(401, 'DPoP', 'use_dpop_nonce', nonce ? { 'DPoP-Nonce': nonce } : {});
    }
    case 'ERR_DPOP_BOUND_TOKEN':
    case 'ERR_DPOP_REQUIRED':
      return answer(401, 'DPoP', 'invalid_token');
    case 'ERR_INSUFFICIENT_SCOPE':
    case 'ERR_ACTOR_NOT_ALLOWED':
      return answer(403, scheme, 'insufficient_scope');
    case 'ERR_REVOCATION_STATE_UNAVAILABLE':
      return { status: 503, headers: { 'Retry-After': '5' }, body: { error: 'temporarily_unavailable', error_description: description } };
    default:
      return answer(401, scheme, 'invalid_token');
  }
}
