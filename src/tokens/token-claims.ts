// The private claims that let a revocation reach exactly the tokens it should (README "Token
// claims"), for the tokens we sign and the records we store:
//   iat_ms          the issue time in milliseconds since the epoch (an integer inside the second
//                   `iat` names; `iat` stays an integer NumericDate, RFC 7519 §2, for everyone
//                   else). Revocations are compared at millisecond precision.
//   exchanged_from  for a token-exchange result (RFC 8693): the tokens it was exchanged from,
//                   nearest first, each {jti?, client_id?}; at most TOKEN_EXCHANGE_MAX_DEPTH
//                   long. Revoking any of those tokens, or its client, revokes this one.
import type { ExchangeAncestor } from '../stores/revocations/types.js';

/**
 * Now in ms, kept inside the second `seconds` names: the library stamps `iat` (or a session's
 * `loginTs`) a moment before we take the precise time, so the clock may just have crossed into
 * the next second.
 */
export function nowWithinSecond(seconds: number): number {
  return Math.min(Math.max(Date.now(), seconds * 1000), seconds * 1000 + 999);
}

/** Defined with the wire format APIs read (src/verify/token-format.ts). */
export { issuedAtMsClaim } from '../verify/token-format.js';
export const exchangedFromClaim = 'exchanged_from';

export interface ExchangedFromEntry {
  jti?: string;
  client_id?: string;
}

const maxAncestors = 64;

/** The ancestors named by an `exchanged_from` claim; undefined when it is malformed. */
export function readExchangedFrom(value: unknown): ExchangeAncestor[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > maxAncestors) return undefined;
  const ancestors: ExchangeAncestor[] = [];
  for (const entry of value as unknown[]) {
    if (typeof entry !== 'object' || entry === null) return undefined;
    const { jti, client_id: clientId } = entry as { jti?: unknown; client_id?: unknown };
    if ((jti !== undefined && typeof jti !== 'string') || (clientId !== undefined && typeof clientId !== 'string')) return undefined;
    ancestors.push({ jti, clientId });
  }
  return ancestors;
}

/** The `exchanged_from` claim of a token exchanged from `subject` (which has its own ancestors). */
export function exchangedFromValue(subject: ExchangeAncestor, ancestors: readonly ExchangeAncestor[]): ExchangedFromEntry[] {
  return [subject, ...ancestors].map((ancestor) => ({
    ...(ancestor.jti ? { jti: ancestor.jti } : {}),
    ...(ancestor.clientId ? { client_id: ancestor.clientId } : {}),
  }));
}
