// Reads a subject or actor token presented for token exchange (RFC 8693 §2.1): it must be an
// access token this server issued, unexpired and unrevoked. JWTs are verified against our keys;
// opaque tokens are looked up. Anything else is invalid_grant.
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { VerifyAccessToken } from './access-token-verifier.js';
import { audiencesOf, tokenIdentity } from './claims.js';
import { checkAccessToken } from './access-token-check.js';
import { looksLikeJwt } from './format.js';
import type { ExchangeAncestor, RevocationStore } from '../stores/revocations/types.js';
import { exchangedFromClaim, readExchangedFrom } from './token-claims.js';
import { opaqueTokenReference } from './opaque-token-reference.js';
import { splitScope } from './scopes.js';
import { isActClaim, type ActClaim } from './delegation.js';

export const tokenTypes = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;

export interface PresentedToken {
  /**
   * What names this token in revocation state: a JWT's `jti`; for an opaque token, a digest of it
   * (its value is the bearer credential itself and must never travel in another token).
   */
  reference: string;
  sub: string;
  clientId: string | undefined;
  audiences: string[];
  scopes: string[];
  exp: number;
  /** The grant the token belongs to (`gid`), if any: exchanged tokens inherit it. */
  grantId: string | undefined;
  act: ActClaim | undefined;
  /** RFC 8693 §4.4: who may act for the subject. */
  mayAct: ActClaim | undefined;
  /** The tokens this one was exchanged from, nearest first. */
  exchangedFrom: ExchangeAncestor[];
}

export interface PresentedTokenDeps {
  provider: Provider;
  verifyAccessToken: VerifyAccessToken;
  revocations: RevocationStore;
}

// The library's InvalidGrant hides its detail behind "grant request is invalid"; ours names the
// policy that refused the exchange (never a token or a secret), which a developer needs.
export function refused(detail: string): errors.InvalidGrant {
  const error = new errors.InvalidGrant(detail);
  error.error_description = detail;
  return error;
}

async function readJwt(deps: PresentedTokenDeps, value: string, label: string): Promise<PresentedToken> {
  const checked = await checkAccessToken(deps, value);
  if (!checked.ok && checked.reason !== 'revoked') {
    throw refused(`${label} is ${checked.reason === 'expired' ? 'expired' : 'not a valid access token of this server'}`);
  }
  const { claims } = checked;
  if (typeof claims.sub !== 'string') throw refused(`${label} has no subject`);
  if (!checked.ok) throw refused(`${label} has been revoked`);
  const identity = tokenIdentity(claims);
  if (claims.act !== undefined && !isActClaim(claims.act)) throw refused(`${label} has a malformed act claim`);
  return {
    reference: claims.jti,
    sub: claims.sub,
    clientId: claims.client_id,
    audiences: audiencesOf(claims.aud),
    scopes: splitScope(claims.scope),
    exp: claims.exp,
    grantId: typeof claims.gid === 'string' ? claims.gid : undefined,
    act: claims.act,
    mayAct: isActClaim(claims.may_act) ? claims.may_act : undefined,
    exchangedFrom: [...(identity.exchangedFrom ?? [])],
  };
}

async function readOpaque(deps: PresentedTokenDeps, value: string, label: string): Promise<PresentedToken> {
  const { AccessToken, ClientCredentials } = deps.provider;
  // find() refuses a revoked record (oidc/adapter.ts checks its subject, client, grant and
  // lineage at millisecond precision), so what it returns is unrevoked. A user's token has an
  // account and a grant; a client-credentials token is the client's own.
  const userToken = await AccessToken.find(value);
  const token = userToken ?? (await ClientCredentials.find(value));
  if (!token || token.isExpired || token.exp === undefined || token.clientId === undefined) {
    throw refused(`${label} is not an active access token of this server`);
  }
  const extra = token.extra ?? {};
  const exchangedFrom = readExchangedFrom(extra[exchangedFromClaim]);
  if (!exchangedFrom) throw refused(`${label} is not an active access token of this server`);
  return {
    reference: opaqueTokenReference(value),
    sub: userToken?.accountId ?? token.clientId,
    clientId: token.clientId,
    audiences: audiencesOf(token.aud ?? token.resourceServer?.audience),
    scopes: splitScope(token.scope),
    exp: token.exp,
    grantId: userToken?.grantId ?? (typeof extra.gid === 'string' ? extra.gid : undefined),
    act: isActClaim(extra.act) ? extra.act : undefined,
    mayAct: undefined,
    exchangedFrom,
  };
}

export async function readPresentedToken(
  deps: PresentedTokenDeps,
  value: string,
  type: string,
  label: 'subject_token' | 'actor_token',
): Promise<PresentedToken> {
  if (type !== tokenTypes.accessToken && type !== tokenTypes.jwt) {
    throw new errors.InvalidRequest(`${label}_type must be ${tokenTypes.accessToken} or ${tokenTypes.jwt}`);
  }
  if (looksLikeJwt(value)) return readJwt(deps, value, label);
  if (type === tokenTypes.jwt) throw refused(`${label} is not a JWT`);
  return readOpaque(deps, value, label);
}
