// Stable error codes for resource servers (match on `code`, never on the message).
export type TokenVerificationCode =
  | 'ERR_TOKEN_INVALID'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_REVOKED'
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_ACTOR_NOT_ALLOWED'
  | 'ERR_REVOCATION_STATE_UNAVAILABLE'
  /** No access token in the request. */
  | 'ERR_TOKEN_MISSING'
  /** RFC 9449: a DPoP-bound token without its proof (as Bearer, or to verify()). */
  | 'ERR_DPOP_BOUND_TOKEN'
  /** RFC 9449: this API accepts only DPoP-bound tokens (`requireDpop`). */
  | 'ERR_DPOP_REQUIRED'
  /** RFC 9449 §4.3: the proof fails a check (`DpopProofError.check` says which) or is by another key. */
  | 'ERR_DPOP_PROOF_INVALID'
  /** RFC 9449 §11.1: the proof was used before. */
  | 'ERR_DPOP_PROOF_REPLAYED'
  /** RFC 9449 §9: the proof must carry a (current) nonce of this API. */
  | 'ERR_DPOP_NONCE_REQUIRED'
  /** Transaction Tokens: no Txn-Token header, one that fails its checks (or one in Authorization), an expired one. */
  | 'ERR_TXN_TOKEN_MISSING'
  | 'ERR_TXN_TOKEN_INVALID'
  | 'ERR_TXN_TOKEN_EXPIRED';

export class TokenVerificationError extends Error {
  constructor(
    readonly code: TokenVerificationCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenVerificationError';
  }
}
