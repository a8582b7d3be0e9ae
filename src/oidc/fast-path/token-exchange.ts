// The token-exchange fast path (RFC 8693): a service trading a JWT for a JWT addressed to the
// next API, the request on every hop of a call chain, is answered here, in front of
// oidc-provider. Transport only: the decision is the token core's, the one the library-side
// grant asks (tokens/token-exchange.ts `decideTokenExchange`), asked while the caller's
// credentials are verified and before its assertion is spent; the token is the one the library
// would sign (tokens/claims.ts, with `exchangedTokenClaims` first: `iat_ms`, `act`,
// `exchanged_from`, `gid`), and the audit record and response are the same functions'. A refusal, an opaque subject, actor or
// target, a pairwise client or anything else unusual goes to the library as it came, which
// decides it from scratch (and records a refusal in the audit trail).
import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import type { Counter } from 'prom-client';
import type { Audit } from '../../audit/audit.js';
import { looksLikeJwt } from '../../tokens/format.js';
import {
  decideTokenExchange,
  exchangedTokenClaims,
  exchangeResponse,
  recordExchange,
  tokenExchangeGrantType,
  tokenExchangeParameters,
  type TokenExchangeDeps,
} from '../../tokens/token-exchange.js';
import type { SignAccessToken } from '../../tokens/access-token-signer.js';
import { issuedTokenCounter } from '../../tokens/issued-tokens.js';
import { servingProvider } from '../serving-provider.js';
import { dpopProofOf } from '../../tokens/dpop-proofs.js';
import { clientConstraintRefusal } from '../../tokens/sender-constraint.js';
import { clientAuthenticationParameters, presentedCredentials, verifyClient, type ClientAuthenticationDeps } from './client-authentication.js';
import type { FastAnswer } from './fast-path.js';
import { issueToken } from './issue-token.js';
import { onlyUnderstood, type Form } from './token-form.js';

export interface TokenExchangeFastPathDeps extends ClientAuthenticationDeps {
  issuer: string;
  exchange: Omit<TokenExchangeDeps, 'audit' | 'provider'>;
  audit: Audit;
  signAccessToken: SignAccessToken;
  tokensIssued: Counter<'grant_type'>;
}

const understood = new Set(['grant_type', ...tokenExchangeParameters, ...clientAuthenticationParameters]);

/** A refusal is the library's to answer (and to record in the audit trail); anything else is an error. */
function declineRefusals(error: unknown): undefined {
  if (error instanceof errors.OIDCProviderError) return undefined;
  throw error;
}

export function createTokenExchangeGrant(deps: TokenExchangeFastPathDeps): FastAnswer {
  const issuing = { signAccessToken: deps.signAccessToken, countIssued: issuedTokenCounter(deps.tokensIssued) };

  return async function tokenExchangeGrant(ctx: Context, form: Form): Promise<boolean> {
    // As on the library path: the issue time is taken before the subject token is checked.
    const issuedAt = Date.now();
    if (!onlyUnderstood(form, understood)) return false;
    // Opaque subject or actor tokens are looked up through the library's models: its path.
    if (!form.subject_token || !looksLikeJwt(form.subject_token)) return false;
    if (form.actor_token !== undefined && !looksLikeJwt(form.actor_token)) return false;
    const presented = presentedCredentials(ctx, form);
    if (!presented) return false;
    // The policy only reads, so it is asked for the named caller while its credentials are being
    // verified (both wait on other threads and stores); the answer counts only if they are.
    const [verified, decision] = await Promise.all([
      verifyClient(ctx, presented, deps, tokenExchangeGrantType),
      decideTokenExchange(
        { ...deps.exchange, provider: servingProvider(ctx) },
        { clientId: presented.clientId, dpopJkt: dpopProofOf(ctx.req)?.jkt },
        form,
      ).catch(
        declineRefusals,
      ),
    ]);
    // The library would give a pairwise client a pairwise `sub` (oidc-provider/lib/models/formats/jwt.js).
    if (!verified || verified.client.subjectType === 'pairwise') return false;
    if (!decision || decision.api.accessTokenFormat !== 'jwt') return false;
    const { client } = verified;
    if (clientConstraintRefusal(client, decision.jkt !== undefined)) return false;
    return issueToken(ctx, issuing, verified, {
      grantType: tokenExchangeGrantType,
      content: {
        extra: exchangedTokenClaims(decision, issuedAt),
        sub: decision.subject.sub,
        iat: Math.floor(issuedAt / 1000),
        lifetime: decision.lifetime,
        scope: decision.scope,
        clientId: client.clientId,
        issuer: deps.issuer,
        audience: decision.api.identifier,
        jkt: decision.jkt,
      },
      beforeAnswer: () => recordExchange(deps.audit, client.clientId, decision),
      answer: (accessToken) => exchangeResponse(accessToken, decision),
    });
  };
}
