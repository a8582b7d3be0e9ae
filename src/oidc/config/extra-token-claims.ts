// Claims we add to access tokens beyond RFC 9068's:
// - `iat_ms`, the issue time in milliseconds (tokens/token-claims.ts), so a revocation in the
//   same second as the token's `iat` can tell before from after;
// - `gid`, the grant the token belongs to (so a grant revoked later can be matched by APIs and
//   introspection without a lookup);
// - `act` and `exchanged_from` of a token-exchange result (RFC 8693 §4.1; the lineage that lets a
//   revocation of a token it came from reach it), set by the grant handler, which also sets `gid`
//   for an exchanged token that has no grant of its own.
// Opaque tokens keep these in their stored record (`extra`), where the adapter checks them.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { issuedAtMsClaim, nowWithinSecond } from '../../tokens/token-claims.js';

const delegationClaims = new WeakMap<object, Record<string, unknown>>();

/** Called by the token-exchange grant before it saves the token. */
export function setDelegationClaims(token: object, claims: Record<string, unknown>): void {
  delegationClaims.set(token, claims);
}

/** Now in ms, inside the second `iat` names when the token has one already. */
function issuedAtMsFor(iat: number | undefined): number {
  return typeof iat === 'number' ? nowWithinSecond(iat) : Date.now();
}

export async function extraTokenClaims(_ctx: KoaContextWithOIDC, token: { grantId?: string; iat?: number }) {
  const claims: Record<string, unknown> = { [issuedAtMsClaim]: issuedAtMsFor(token.iat), ...delegationClaims.get(token) };
  if (token.grantId) claims.gid = token.grantId;
  return claims;
}
