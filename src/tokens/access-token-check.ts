// The one check of a presented access token of ours: a valid signature by a key we publish, our
// issuer, `at+jwt`, unexpired (access-token-verifier.ts), and not revoked (the revocation state,
// consulted on every use: RFC 7662 §2.2, RFC 7009 §2). Introspection, token exchange and the
// bearer auth of our own APIs all ask it. A revoked token comes back with its claims, so each
// caller can still word its answer (which client, which token) as before; none ever treats it as
// valid. If the revocation state cannot be read this throws: never a token accepted on a guess.
import type { RevocationStore } from '../stores/revocations/types.js';
import type { AccessTokenClaims } from './claims.js';
import { tokenIdentity } from './claims.js';
import type { VerifyAccessToken } from './access-token-verifier.js';

export type CheckedAccessToken =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; reason: 'expired' | 'invalid' }
  | { ok: false; reason: 'revoked'; claims: AccessTokenClaims };

export interface AccessTokenCheckDeps {
  verifyAccessToken: VerifyAccessToken;
  revocations: Pick<RevocationStore, 'isRevoked'>;
}

export async function checkAccessToken(deps: AccessTokenCheckDeps, token: string): Promise<CheckedAccessToken> {
  const verified = await deps.verifyAccessToken(token);
  if (!verified.ok) return verified;
  if (await deps.revocations.isRevoked(tokenIdentity(verified.claims))) return { ok: false, reason: 'revoked', claims: verified.claims };
  return verified;
}
