// RFC 8693 §4.1 delegation chains: the newest actor on top, earlier actors nested inside; and
// the lineage (`exchanged_from`, tokens/token-claims.ts) that lets a revocation of any token
// up the chain reach the tokens exchanged from it.
import { exchangedFromValue, type ExchangedFromEntry } from './token-claims.js';
import type { ExchangeAncestor } from '../stores/revocations/types.js';

export interface ActClaim {
  sub: string;
  act?: ActClaim;
}

export function isActClaim(value: unknown): value is ActClaim {
  if (typeof value !== 'object' || value === null) return false;
  const { sub, act } = value as { sub?: unknown; act?: unknown };
  return typeof sub === 'string' && (act === undefined || isActClaim(act));
}

/** How many actors a chain holds (0 for a token nobody acts on). */
export function chainDepth(act: ActClaim | undefined): number {
  return act ? 1 + chainDepth(act.act) : 0;
}

export function addActor(actor: string, previous: ActClaim | undefined): ActClaim {
  return previous ? { sub: actor, act: previous } : { sub: actor };
}

/** The actors from newest to oldest, for logs and the audit trail. */
export function chainOf(act: ActClaim | undefined): string[] {
  return act ? [act.sub, ...chainOf(act.act)] : [];
}

/**
 * Who acts when `caller` presents an actor token (RFC 8693 §2.1 `actor_token`): the token's
 * subject, when the token is the caller's own (issued to it, about itself) or names an actor
 * the subject token allows (§4.4 `may_act`); undefined when it is neither.
 */
export function admittedActor(
  caller: string,
  actorToken: { sub: string; clientId: string | undefined },
  mayAct: ActClaim | undefined,
): string | undefined {
  const belongsToCaller = actorToken.clientId === caller && actorToken.sub === caller;
  const allowedBySubject = mayAct?.sub === actorToken.sub;
  return belongsToCaller || allowedBySubject ? actorToken.sub : undefined;
}

/** The subject token as delegation sees it: what names it, its client, its chain and lineage. */
export interface DelegatedToken {
  reference: string;
  clientId: string | undefined;
  act: ActClaim | undefined;
  exchangedFrom: readonly ExchangeAncestor[];
}

export type Delegation = { ok: true; act: ActClaim; exchangedFrom: ExchangedFromEntry[] } | { ok: false; reason: 'too_deep' };

/**
 * The `act` and `exchanged_from` of a token exchanged from `subject` with `actor` acting: the
 * actor on top of the subject's chain, the subject token first in the lineage. Refused when
 * either would hold more than `maxDepth` entries (TOKEN_EXCHANGE_MAX_DEPTH).
 */
export function delegate(actor: string, subject: DelegatedToken, maxDepth: number): Delegation {
  const act = addActor(actor, subject.act);
  const exchangedFrom = exchangedFromValue({ jti: subject.reference, clientId: subject.clientId }, subject.exchangedFrom);
  if (chainDepth(act) > maxDepth || exchangedFrom.length > maxDepth) return { ok: false, reason: 'too_deep' };
  return { ok: true, act, exchangedFrom };
}

/**
 * Seconds the exchanged token lives: the target API's TTL, cut to what is left of the subject
 * token (docs/DESIGN.md "Token exchange"); zero or less means the subject has expired.
 */
export function exchangeLifetime(apiTtl: number, subjectExp: number, nowSeconds: number): number {
  return Math.min(apiTtl, subjectExp - nowSeconds);
}
