// The Transaction Token Service (draft-ietf-oauth-transaction-tokens-10) on the token endpoint: a
// token-exchange request with `requested_token_type` = the txn_token URN gets a short-lived JWT
// (`typ` txntoken+jwt) that carries the call's context — who it is for (`sub`), what it may do
// (`scope`, at most the subject token's), who asked (`req_wl`), and why (`tctx` from
// `request_details`, `rctx` from `request_context`) — addressed to the trust domain (`aud`).
// The rules:
// - the caller is a workload of the trust domain: a client that acts for an API (§7.1), and that
//   authenticates with an asymmetric key (private_key_jwt); otherwise `unauthorized_client`;
// - the subject token is an access token of this server, unexpired and unrevoked (an ID token, a
//   refresh token or anything else is `invalid_grant`), addressed to an API the caller acts for;
// - `audience` is the trust domain (TRUST_DOMAIN), nothing else (`invalid_target`);
// - the Txn-Token lives TXN_TOKEN_LIFETIME (default 60 s, at most 300 s), never beyond the subject;
// - the answer has no refresh token and `token_type: N_A` (RFC 8693 §2.2.1).
// A Txn-Token is never an access token: every access-token check requires `typ` at+jwt
// (access-token-verifier.ts), so it is refused wherever one is presented as one.
//
// Replacement (draft §6.2.2): a workload holding a Txn-Token may present it as the subject
// (`subject_token_type` = txn_token) for a replacement: `txn`, `sub`, `aud`, `tctx` and `rctx`
// stay; the scope never widens; `exp` never moves later; `req_wl` grows into the chain of
// requesting workloads, comma-separated, oldest first; at most TXN_TOKEN_MAX_REPLACEMENTS times.
import crypto from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { errors } from 'oidc-provider';
import type { Catalog } from '../catalog/catalog.js';
import { readPresentedToken, refused, type PresentedToken, type PresentedTokenDeps } from './presented-token.js';
import { list, required, single, type Params } from './request-params.js';
import { splitScope } from './scopes.js';

export const txnTokenType = 'urn:ietf:params:oauth:token-type:txn_token';
/** The JWT `typ` of a Txn-Token (draft §4.1.1). */
export const txnTokenJwtType = 'txntoken+jwt';
/** How large `request_details` and `request_context` may be, each (as JSON text). */
export const maxTxnContextBytes = 4096;

export interface TransactionTokenDeps extends PresentedTokenDeps {
  catalog: Catalog;
  issuer: string;
  trustDomain: string;
  /** Seconds a Txn-Token lives at most (TXN_TOKEN_LIFETIME). */
  lifetime: number;
  /** How many times a Txn-Token may be replaced (TXN_TOKEN_MAX_REPLACEMENTS). */
  maxReplacements: number;
  /** The keys we publish (a Txn-Token presented for replacement is checked against them). */
  publishedKeys: () => readonly JWK[];
  clockTolerance: number;
}

/** A Txn-Token of ours for this trust domain, unexpired; refused with invalid_grant otherwise. */
async function readTransactionToken(deps: TransactionTokenDeps, value: string): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(value, createLocalJWKSet({ keys: [...deps.publishedKeys()] }), {
      issuer: deps.issuer,
      audience: deps.trustDomain,
      typ: txnTokenJwtType,
      algorithms: ['ES256'],
      requiredClaims: ['iat', 'exp', 'txn', 'sub'],
      clockTolerance: deps.clockTolerance,
    });
    return payload;
  } catch {
    throw refused('subject_token is not a valid Txn-Token of this trust domain');
  }
}

/** The workloads that asked for this Txn-Token and the ones it replaced, oldest first. */
const requestingWorkloads = (claims: JWTPayload): string[] => (typeof claims.req_wl === 'string' ? claims.req_wl.split(',') : []);

export interface TransactionTokenDecision {
  claims: Record<string, unknown>;
  lifetime: number;
  subject: Pick<PresentedToken, 'sub'>;
}

/** A JSON object parameter (draft §6.1), within the size limit; undefined when absent. */
function jsonObject(params: Params, name: string): Record<string, unknown> | undefined {
  const text = single(params, name);
  if (text === undefined) return undefined;
  if (Buffer.byteLength(text) > maxTxnContextBytes) throw new errors.InvalidRequest(`${name} must be at most ${maxTxnContextBytes} bytes of JSON`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new errors.InvalidRequest(`${name} must be a JSON object`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new errors.InvalidRequest(`${name} must be a JSON object`);
  return value as Record<string, unknown>;
}

export async function decideTransactionToken(
  deps: TransactionTokenDeps,
  caller: { clientId: string; clientAuthMethod?: string | undefined },
  params: Params,
  nowMs = Date.now(),
): Promise<TransactionTokenDecision> {
  const workloadOf = (await deps.catalog.listResources()).filter((api) => api.clientId === caller.clientId);
  if (workloadOf.length === 0) throw new errors.UnauthorizedClient('this client is not a workload of the trust domain: it acts for no API');
  if (caller.clientAuthMethod !== 'private_key_jwt') {
    throw new errors.UnauthorizedClient('Transaction Tokens are issued to workloads that authenticate with private_key_jwt');
  }
  const audiences = list(params, 'audience');
  if (list(params, 'resource').length > 0 || audiences.length !== 1 || audiences[0] !== deps.trustDomain) {
    throw new errors.InvalidTarget(`audience must be the trust domain ${deps.trustDomain}, and no resource`);
  }
  if (single(params, 'subject_token_type') === txnTokenType) return replaceTransactionToken(deps, caller, params, nowMs);
  const tctx = jsonObject(params, 'request_details');
  const rctx = jsonObject(params, 'request_context');
  const subject = await readPresentedToken(deps, required(params, 'subject_token'), required(params, 'subject_token_type'), 'subject_token');
  if (!subject.audiences.some((audience) => workloadOf.some((api) => api.identifier === audience))) {
    throw refused('subject_token is not addressed to an API this workload acts for');
  }
  const scope = narrowedScope(params, subject.scopes);
  const iat = Math.floor(nowMs / 1000);
  const lifetime = Math.min(deps.lifetime, subject.exp - iat);
  if (lifetime <= 0) throw refused('subject_token is expired');
  return {
    lifetime,
    subject,
    claims: {
      iss: deps.issuer,
      iat,
      exp: iat + lifetime,
      aud: deps.trustDomain,
      txn: crypto.randomUUID(),
      sub: subject.sub,
      scope,
      req_wl: caller.clientId,
      ...(tctx ? { tctx } : {}),
      ...(rctx ? { rctx } : {}),
    },
  };
}

/** The scope asked for, which must lie within `held` (invalid_scope otherwise); all of it by default. */
function narrowedScope(params: Params, held: readonly string[]): string {
  const requested = splitScope(single(params, 'scope'));
  const wider = requested.find((scope) => !held.includes(scope));
  if (wider !== undefined) throw new errors.InvalidScope(`scope ${wider} is not in the subject token`, wider);
  return (requested.length ? [...new Set(requested)] : held).join(' ');
}

async function replaceTransactionToken(
  deps: TransactionTokenDeps,
  caller: { clientId: string },
  params: Params,
  nowMs: number,
): Promise<TransactionTokenDecision> {
  const previous = await readTransactionToken(deps, required(params, 'subject_token'));
  // Its user revoked since it was issued (or the txn itself): no replacement.
  if (await deps.revocations.isRevoked({ jti: String(previous.txn), issuedAt: previous.iat! * 1000, sub: String(previous.sub) })) {
    throw refused('subject_token has been revoked');
  }
  const chain = requestingWorkloads(previous);
  if (chain.length > deps.maxReplacements) throw refused(`this Txn-Token has been replaced ${deps.maxReplacements} times already`);
  const scope = narrowedScope(params, splitScope(previous.scope));
  const iat = Math.floor(nowMs / 1000);
  const exp = Math.min(iat + deps.lifetime, previous.exp!);
  if (exp <= iat) throw refused('subject_token is expired');
  const { tctx, rctx } = previous;
  return {
    lifetime: exp - iat,
    subject: { sub: String(previous.sub) },
    claims: {
      iss: deps.issuer,
      iat,
      exp,
      aud: deps.trustDomain,
      txn: previous.txn,
      sub: previous.sub,
      scope,
      req_wl: [...chain, caller.clientId].join(','),
      ...(tctx ? { tctx } : {}),
      ...(rctx ? { rctx } : {}),
    },
  };
}

/** The RFC 8693 §2.2.1 answer: no refresh token, `token_type` N_A (the Txn-Token is not an access token). */
export function transactionTokenResponse(txnToken: string, decision: TransactionTokenDecision): Record<string, unknown> {
  return { access_token: txnToken, issued_token_type: txnTokenType, token_type: 'N_A', expires_in: decision.lifetime };
}
