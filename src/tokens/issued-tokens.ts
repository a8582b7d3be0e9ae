// portcullis_tokens_issued_total: the one place a token counts as issued, whichever path issued
// it. The library path counts on its `grant.success` event (emitted after every grant handler
// that answered, oidc-provider/lib/actions/token.js callTokenHandler); the fast paths answer in front of the
// library, which then emits nothing, so they count here themselves once they have answered.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Counter } from 'prom-client';
import { childrenOf } from '../metrics/metrics.js';

export type CountIssuedToken = (grantType: string) => void;

const countersOf = new WeakMap<Counter<'grant_type'>, CountIssuedToken>();

/** Counts one issued token of `grantType` (a bounded label: the grant types we serve). */
export function issuedTokenCounter(counter: Counter<'grant_type'>): CountIssuedToken {
  let count = countersOf.get(counter);
  if (!count) {
    // One bound child per grant type: the fast paths count on their hot path.
    const childOf = childrenOf((labels) => counter.labels(labels));
    count = (grantType) => childOf(grantType, () => ({ grant_type: grantType })).inc();
    countersOf.set(counter, count);
  }
  return count;
}

/** Counts what the library issues (every grant it answers, token exchange included). */
export function countLibraryIssuedTokens(provider: Provider, counter: Counter<'grant_type'>): void {
  const count = issuedTokenCounter(counter);
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => count(String((ctx.oidc.params as Record<string, unknown>).grant_type)));
}
