// The RFC 8693 token-exchange decision, with the policy of docs/DESIGN.md "Token exchange", asked by
// the library-side grant (oidc/grants/token-exchange.ts, which lets the library issue) and by the
// fast path (oidc/fast-path/token-exchange.ts, which hands any refusal to the library):
// - the caller (already authenticated, holding this grant type) trades only tokens addressed
//   to an API it acts for;
// - the result is for one target API the caller may reach, with scopes inside both the caller's
//   `scope` metadata and the target's scopes;
// - the subject stays `sub`; the caller becomes the newest actor, earlier actors nest (§4.1);
// - the result lives no longer than the target's TTL nor than the subject token;
// - the result carries its lineage (`exchanged_from`: the subject token and the tokens that one
//   was exchanged from, with their clients) and the subject's grant (`gid`), so revoking any
//   token up the chain, its client, its user or the grant revokes it, JWT or opaque;
// - DPoP (RFC 9449; docs/DESIGN.md "Token exchange"): a DPoP-bound subject token is exchanged like
//   any other, by the API it is addressed to (the only caller the first rule admits; that API
//   checked the holder's proof when the token reached it); the result is bound to the *caller's*
//   key when the caller sends a proof, and must be when the target API takes only bound tokens.
//   The subject's binding never carries over: the caller does not hold the subject's key.
import { errors } from 'oidc-provider';
import type { Audit } from '../audit/audit.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ResourceRecord } from '../stores/resources.js';
import type { ResourceAccess } from './resource-access.js';
import { exchangedFromClaim, issuedAtMsClaim, type ExchangedFromEntry } from './token-claims.js';
import { splitScope } from './scopes.js';
import { list, required, single, type Params } from './request-params.js';

export type { Params } from './request-params.js';
import { senderConstraintRefusal } from './sender-constraint.js';
import { grantApiScopes, scopeRefusalError } from './granted-scopes.js';
import { admittedActor, chainOf, delegate, exchangeLifetime, type ActClaim } from './delegation.js';
import { readPresentedToken, refused, tokenTypes, type PresentedToken, type PresentedTokenDeps } from './presented-token.js';

export const tokenExchangeGrantType = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** The parameters of an exchange request (RFC 8693 §2.1). */
export const tokenExchangeParameters = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'audience',
  'resource',
  'scope',
  // draft-ietf-oauth-transaction-tokens §6.1 (requested_token_type txn_token: transaction-token.ts).
  'request_context',
  'request_details',
];

export interface TokenExchangeDeps extends PresentedTokenDeps {
  catalog: Catalog;
  access: ResourceAccess;
  audit: Audit;
  maxChainDepth: number;
}

/**
 * RFC 8693 §2.1: `resource` and `audience` both name the target; we issue for exactly one API
 * of the table (never one of our built-in APIs: the admin API or the revocation feed).
 */
async function resolveTarget(catalog: Catalog, params: Params): Promise<ResourceRecord> {
  const targets = new Set([...list(params, 'resource'), ...list(params, 'audience')]);
  if (targets.size === 0) throw new errors.InvalidRequest('resource or audience is required');
  if (targets.size > 1) throw new errors.InvalidTarget('exactly one target API may be requested');
  const [identifier] = targets;
  const api = await catalog.findResource(identifier!);
  if (!api) throw new errors.InvalidTarget('unknown target API');
  return api;
}

export interface ExchangeCaller {
  clientId: string;
  clientAuthMethod?: string | undefined;
  /** The key of the caller's DPoP proof for this request (RFC 9449 §5), when it sent one. */
  dpopJkt?: string | undefined;
}

/** What an allowed exchange issues: a token for `api` with `scope`, living `lifetime` seconds. */
export interface ExchangeDecision {
  api: ResourceRecord;
  scope: string;
  lifetime: number;
  subject: PresentedToken;
  act: ActClaim;
  /** The result's `exchanged_from`: the subject token first, then its own lineage. */
  exchangedFrom: ExchangedFromEntry[];
  /** RFC 9449 §6.1: the caller's key the result is bound to (`cnf.jkt`); a bearer token without. */
  jkt: string | undefined;
}

/**
 * The policy of an exchange requested by an authenticated `caller`: throws the OAuth error that
 * refuses it, or says what to issue. Reads only (tokens, revocation state, the catalog), so the
 * fast path (oidc/fast-path/token-exchange.ts) can ask before it commits to anything.
 */
export async function decideTokenExchange(
  deps: Omit<TokenExchangeDeps, 'audit'>,
  caller: ExchangeCaller,
  params: Params,
  /** Told the subject once its token is read, so a later refusal can name it in the audit trail. */
  onSubject: (sub: string) => void = () => {},
): Promise<ExchangeDecision> {
  // RFC 8693 §2.1 leaves client authentication to policy; ours requires it.
  if (caller.clientAuthMethod === 'none') {
    throw new errors.UnauthorizedClient('token exchange requires an authenticated client');
  }
  const requestedType = single(params, 'requested_token_type');
  if (requestedType && requestedType !== tokenTypes.accessToken && requestedType !== tokenTypes.jwt) {
    throw new errors.InvalidRequest(`requested_token_type must be ${tokenTypes.accessToken} or ${tokenTypes.jwt}`);
  }
  const subject = await readPresentedToken(deps, required(params, 'subject_token'), required(params, 'subject_token_type'), 'subject_token');
  onSubject(subject.sub);

  // A service may only trade tokens addressed to an API it acts for.
  const addressedToCaller = await Promise.all(
    subject.audiences.map(async (audience) => (await deps.catalog.findResource(audience))?.clientId === caller.clientId),
  );
  if (!addressedToCaller.includes(true)) {
    throw refused('subject_token is not addressed to an API this client acts for');
  }

  const actorToken = single(params, 'actor_token');
  const actorTokenType = single(params, 'actor_token_type');
  if ((actorToken === undefined) !== (actorTokenType === undefined)) {
    throw new errors.InvalidRequest('actor_token and actor_token_type go together');
  }
  let actor = caller.clientId;
  if (actorToken) {
    const presented = await readPresentedToken(deps, actorToken, actorTokenType!, 'actor_token');
    const admitted = admittedActor(caller.clientId, presented, subject.mayAct);
    if (admitted === undefined) {
      throw refused('actor_token belongs neither to the client nor to an actor the subject allows (may_act)');
    }
    actor = admitted;
  }

  const delegation = delegate(actor, subject, deps.maxChainDepth);
  if (!delegation.ok) throw refused(`the delegation chain would be deeper than ${deps.maxChainDepth}`);
  const { act, exchangedFrom } = delegation;

  const api = await resolveTarget(deps.catalog, params);
  const unbound = senderConstraintRefusal(api, caller.dpopJkt !== undefined);
  if (unbound) throw new errors.InvalidRequest(unbound);
  const granted = grantApiScopes(splitScope(single(params, 'scope')), api, await deps.access.reachableScopes(api, caller.clientId));
  if (!granted.ok) throw scopeRefusalError(granted.refusal, 'target API');

  const lifetime = exchangeLifetime(api.accessTokenTtl, subject.exp, Math.floor(Date.now() / 1000));
  if (lifetime <= 0) throw refused('subject_token is expired');
  const scope = granted.scopes.join(' ');
  return { api, scope, lifetime, subject, act, exchangedFrom, jkt: caller.dpopJkt };
}

/**
 * The claims an exchanged token carries beyond RFC 9068's, the same from either path: its issue
 * time in ms (taken when the request arrived, before the subject token was checked, so a
 * revocation while it is decided reaches it), the delegation chain, the lineage, and the
 * subject's grant.
 */
export function exchangedTokenClaims(decision: ExchangeDecision, issuedAt: number): Record<string, unknown> {
  return {
    [issuedAtMsClaim]: issuedAt,
    act: decision.act,
    [exchangedFromClaim]: decision.exchangedFrom,
    ...(decision.subject.grantId ? { gid: decision.subject.grantId } : {}),
  };
}

/** The audit record of a successful exchange (the same from either path). */
export function recordExchange(audit: Audit, caller: string, decision: ExchangeDecision): Promise<void> {
  return audit.record({
    type: 'token_exchange',
    outcome: 'success',
    clientId: caller,
    sub: decision.subject.sub,
    details: { target: decision.api.identifier, scope: decision.scope, chain: chainOf(decision.act) },
  });
}

/** The RFC 8693 §2.2.1 response. */
export function exchangeResponse(accessToken: string, decision: ExchangeDecision): Record<string, unknown> {
  return {
    access_token: accessToken,
    issued_token_type: tokenTypes.accessToken,
    token_type: decision.jkt ? 'DPoP' : 'Bearer',
    expires_in: decision.lifetime,
    scope: decision.scope,
  };
}
