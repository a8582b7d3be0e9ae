// The last steps of every fast-path grant, written once: sign the token while the client's
// assertion `jti` is being spent (the Redis round trip), throw the token away unless that
// succeeded, then answer (RFC 6749 §5.1: `Cache-Control: no-store`) and count the token. Nothing
// after the commit may hand the request on: the `jti` is spent.
import type { Context } from 'koa';
import type { AccessTokenContent } from '../../tokens/claims.js';
import type { SignAccessToken } from '../../tokens/access-token-signer.js';
import type { CountIssuedToken } from '../../tokens/issued-tokens.js';
import { newTokenId } from '../../tokens/token-ids.js';
import type { VerifiedClient } from './client-authentication.js';

export interface IssueTokenDeps {
  signAccessToken: SignAccessToken;
  countIssued: CountIssuedToken;
}

export interface TokenToIssue {
  grantType: string;
  /** Everything but the `jti`, which is drawn here. */
  content: Omit<AccessTokenContent, 'jti'>;
  /** The response body for the signed token. */
  answer(accessToken: string): Record<string, unknown>;
  /** Runs once the token is certain to be issued, before it is answered (an audit record). */
  beforeAnswer?: () => Promise<void>;
}

/** True when the token was issued and answered; false (nothing answered) when the commit failed. */
export async function issueToken(ctx: Context, deps: IssueTokenDeps, verified: VerifiedClient, token: TokenToIssue): Promise<boolean> {
  const [committed, accessToken] = await Promise.all([
    verified.commit(),
    deps.signAccessToken({ ...token.content, jti: newTokenId() }),
  ]);
  if (!committed) return false;
  // Whoever authenticated counts against the per-client rate (throttle/request-rates.ts).
  ctx.state.authenticatedClientId = verified.client.clientId;
  await token.beforeAnswer?.();
  ctx.set('Cache-Control', 'no-store');
  ctx.body = token.answer(accessToken);
  deps.countIssued(token.grantType);
  return true;
}
