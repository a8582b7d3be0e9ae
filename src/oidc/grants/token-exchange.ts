// The library-side RFC 8693 token-exchange grant: the token core decides
// (tokens/token-exchange.ts `decideTokenExchange`, the same decision the fast path asks), this
// handler records a refusal in the audit trail and lets the library issue what was decided.
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { resourceServerInfo } from '../../tokens/format.js';
import {
  decideTokenExchange,
  exchangedTokenClaims,
  exchangeResponse,
  recordExchange,
  tokenExchangeGrantType,
  tokenExchangeParameters,
  type ExchangeDecision,
  type Params,
  type TokenExchangeDeps,
} from '../../tokens/token-exchange.js';
import { setDelegationClaims } from '../config/extra-token-claims.js';
import { grantlessAccessToken } from '../internals.js';
import type { SignJwt } from '../../tokens/access-token-signer.js';
import {
  decideTransactionToken,
  transactionTokenResponse,
  txnTokenJwtType,
  txnTokenType,
  type TransactionTokenDecision,
  type TransactionTokenDeps,
} from '../../tokens/transaction-token.js';
import { dpopProofOf } from '../../tokens/dpop-proofs.js';
import { clientConstraintRefusal } from '../../tokens/sender-constraint.js';
import { refused } from '../../tokens/presented-token.js';

/** What the Transaction Token Service (tokens/transaction-token.ts) needs besides the exchange's. */
export interface TransactionTokenService {
  deps: Omit<TransactionTokenDeps, 'provider' | 'verifyAccessToken' | 'revocations'>;
  signJwt: SignJwt;
}

export function registerTokenExchange(provider: Provider, deps: TokenExchangeDeps, transactionTokens: TransactionTokenService): void {
  /** draft-ietf-oauth-transaction-tokens §6: the same grant, asking for a Txn-Token. */
  async function issueTransactionToken(ctx: KoaContextWithOIDC, params: Params): Promise<void> {
    const caller = ctx.oidc.client!;
    let decision: TransactionTokenDecision;
    try {
      decision = await decideTransactionToken({ ...deps, ...transactionTokens.deps }, caller, params);
    } catch (error) {
      if (error instanceof errors.OIDCProviderError) {
        await deps.audit.record({
          type: 'txn_token',
          outcome: 'failure',
          clientId: caller.clientId,
          details: { reason: error.error_description ?? error.message, error: error.error },
        });
      }
      throw error;
    }
    const txnToken = await transactionTokens.signJwt(txnTokenJwtType, decision.claims);
    // Never the token itself in the trail: its `txn`, `sub` and requesting workload.
    await deps.audit.record({
      type: 'txn_token',
      outcome: 'success',
      clientId: caller.clientId,
      sub: decision.subject.sub,
      details: { txn: decision.claims.txn, req_wl: decision.claims.req_wl, scope: decision.claims.scope },
    });
    ctx.body = transactionTokenResponse(txnToken, decision);
  }

  async function exchangeToken(ctx: KoaContextWithOIDC): Promise<void> {
    const issuedAt = Date.now();
    const params = ctx.oidc.params as Params;
    if (params.requested_token_type === txnTokenType) {
      await issueTransactionToken(ctx, params);
      return;
    }
    const caller = ctx.oidc.client!;
    // The proof the gate accepted for this request (oidc/dpop-gate.ts), the library's checks passed too.
    const dpopJkt = dpopProofOf(ctx.req)?.jkt;
    let decision: ExchangeDecision;
    let sub: string | undefined;
    try {
      decision = await decideTokenExchange(deps, { clientId: caller.clientId, clientAuthMethod: caller.clientAuthMethod, dpopJkt }, params, (subject) => (sub = subject));
      // The library checks a client's dpop_bound_access_tokens in its own grants only
      // (oidc-provider/lib/helpers/sender_constraints.js); this grant is ours.
      const unbound = clientConstraintRefusal(caller, dpopJkt !== undefined);
      if (unbound) throw refused(unbound);
    } catch (error) {
      if (error instanceof errors.OIDCProviderError) {
        await deps.audit.record({
          type: 'token_exchange',
          outcome: 'failure',
          clientId: caller.clientId,
          sub,
          details: { reason: error.error_description ?? error.message, error: error.error },
        });
      }
      throw error;
    }
    const { api, scope, lifetime, subject } = decision;

    // No grant of its own, JWT or opaque: the token belongs to the subject token's grant (`gid`,
    // from exchangedTokenClaims), so revoking that grant (a replayed refresh token, an admin
    // revocation) revokes it too. The library's own grant check (introspection compares a
    // grant's client with the token's) would refuse the subject's grant for the caller, so the
    // result does not name it as `grantId` (internals.ts grantlessAccessToken); the adapter reads
    // an opaque token's `gid` instead.
    const iat = Math.floor(issuedAt / 1000);
    const token = grantlessAccessToken(provider, {
      accountId: subject.sub,
      client: caller,
      gty: 'token_exchange',
      scope,
      iat,
      exp: iat + lifetime,
    });
    if (decision.jkt) token.setThumbprint('jkt', decision.jkt);
    token.resourceServer = new provider.ResourceServer(api.identifier, resourceServerInfo(api, api.scopes, lifetime));
    setDelegationClaims(token, exchangedTokenClaims(decision, issuedAt));
    ctx.oidc.entity('AccessToken', token);
    const value = await token.save();

    await recordExchange(deps.audit, caller.clientId, decision);
    ctx.body = exchangeResponse(value, decision);
  }

  provider.registerGrantType(tokenExchangeGrantType, exchangeToken, tokenExchangeParameters, ['audience', 'resource']);
}
