// Claims we add to access tokens beyond RFC 9068's: `gid`, the grant the token belongs to (so a
// grant revoked later can be matched by APIs and introspection without a lookup), and `act`,
// the delegation chain of a token-exchange result (RFC 8693 §4.1), set by the grant handler.
import type { KoaContextWithOIDC } from 'oidc-provider';

const delegationClaims = new WeakMap<object, Record<string, unknown>>();

/** Called by the token-exchange grant before it saves the token. */
export function setDelegationClaims(token: object, claims: Record<string, unknown>): void {
  delegationClaims.set(token, claims);
}

export async function extraTokenClaims(_ctx: KoaContextWithOIDC, token: { grantId?: string }) {
  const claims: Record<string, unknown> = { ...delegationClaims.get(token) };
  if (token.grantId) claims.gid = token.grantId;
  return Object.keys(claims).length ? claims : undefined;
}
