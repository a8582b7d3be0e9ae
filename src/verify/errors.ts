// Stable error codes for resource servers (match on `code`, never on the message).
export type TokenVerificationCode =
  | 'ERR_TOKEN_INVALID'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_REVOKED'
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_ACTOR_NOT_ALLOWED'
  | 'ERR_REVOCATION_STATE_UNAVAILABLE';

export class TokenVerificationError extends Error {
  constructor(
    readonly code: TokenVerificationCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenVerificationError';
  }
}
