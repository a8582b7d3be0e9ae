// Transaction Tokens (draft-ietf-oauth-transaction-tokens-10) as a service receives them: in the
// `Txn-Token` request header (§7.3), never in Authorization (a Txn-Token is not an access token),
// forwarded unmodified to the next service (`forwardTransactionToken`). Checked: the signature
// against the issuer's JWKS, `typ` txntoken+jwt, `aud` the trust domain, `exp`. There is nothing
// to replay-check: the same token travels the whole call.
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { TokenVerificationError } from './errors.js';
import type { IncomingRequest } from './request-auth.js';

export const txnTokenHeader = 'txn-token';
export const txnTokenJwtType = 'txntoken+jwt';

export interface VerifiedTransactionToken {
  txn: string;
  sub: string;
  scope: string;
  scopes: string[];
  /** The requesting workload (the edge service that asked for it). */
  reqWl: string | undefined;
  /** The transaction context (`tctx`, from the edge's request_details) and request context (`rctx`). */
  tctx: Record<string, unknown> | undefined;
  rctx: Record<string, unknown> | undefined;
  claims: JWTPayload;
}

function headerValues(headers: IncomingRequest['headers'], name: string): string[] {
  if (headers instanceof Headers) {
    const value = headers.get(name);
    return value === null ? [] : [value];
  }
  const value = headers[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

const objectOrUndefined = (value: unknown) =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** True when the string is a JWT whose `typ` says Txn-Token (found where an access token belongs, it is refused). */
export function looksLikeTransactionToken(token: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { typ?: unknown };
    return header.typ === txnTokenJwtType;
  } catch {
    return false;
  }
}

export async function verifyTransactionToken(
  request: IncomingRequest,
  options: { jwks: JWTVerifyGetKey; issuer: string; trustDomain: string; algorithms: string[]; clockTolerance: number },
): Promise<VerifiedTransactionToken> {
  const authorization = headerValues(request.headers, 'authorization')[0];
  const bearer = /^(?:Bearer|DPoP) (.+)$/i.exec(authorization ?? '')?.[1];
  if (bearer && looksLikeTransactionToken(bearer)) {
    throw new TokenVerificationError('ERR_TXN_TOKEN_INVALID', 'a Txn-Token is not an access token: send it in the Txn-Token header');
  }
  const values = headerValues(request.headers, txnTokenHeader);
  if (values.length === 0) throw new TokenVerificationError('ERR_TXN_TOKEN_MISSING', 'a Txn-Token header is required');
  if (values.length > 1 || values[0]!.includes(',')) throw new TokenVerificationError('ERR_TXN_TOKEN_INVALID', 'exactly one Txn-Token header is allowed');
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(values[0]!, options.jwks, {
      issuer: options.issuer,
      audience: options.trustDomain,
      typ: txnTokenJwtType,
      algorithms: options.algorithms,
      requiredClaims: ['iat', 'exp', 'txn', 'sub'],
      clockTolerance: options.clockTolerance,
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new TokenVerificationError('ERR_TXN_TOKEN_EXPIRED', 'the Txn-Token has expired');
    throw new TokenVerificationError('ERR_TXN_TOKEN_INVALID', 'the Txn-Token is not valid for this trust domain');
  }
  const scope = typeof claims.scope === 'string' ? claims.scope : '';
  return {
    txn: String(claims.txn),
    sub: String(claims.sub),
    scope,
    scopes: scope.split(' ').filter(Boolean),
    reqWl: typeof claims.req_wl === 'string' ? claims.req_wl : undefined,
    tctx: objectOrUndefined(claims.tctx),
    rctx: objectOrUndefined(claims.rctx),
    claims,
  };
}

/** The headers for an outgoing call that carries the incoming Txn-Token on, unmodified (§7.3). */
export function forwardTransactionToken(incoming: IncomingRequest, outgoing: Record<string, string> = {}): Record<string, string> {
  const [value] = headerValues(incoming.headers, txnTokenHeader);
  return value === undefined ? outgoing : { ...outgoing, 'Txn-Token': value };
}
