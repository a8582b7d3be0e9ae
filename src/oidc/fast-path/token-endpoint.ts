// POST /token in front of oidc-provider: reads the form once and offers it to the fast path of its
// grant type (client credentials, token exchange). A grant answers, or declines and the request
// goes to the library exactly as it came (token-form.ts keeps the body for it).
import type { Context, Next } from 'koa';
import type { Counter } from 'prom-client';
import { asksForOtherMechanisms, readTokenForm, type Form } from './token-form.js';

/** Answers the request and resolves true, or resolves false having changed nothing. */
export type FastGrant = (ctx: Context, form: Form) => Promise<boolean>;

export interface TokenEndpointFastPathDeps {
  grants: ReadonlyMap<string, FastGrant>;
  /** Counts answered requests ('served') and requests handed to the library ('handed_over'). */
  fastPathRequests: Counter<'endpoint' | 'outcome'>;
}

export function createTokenEndpointFastPath(deps: TokenEndpointFastPathDeps) {
  const served = deps.fastPathRequests.labels({ endpoint: 'token', outcome: 'served' });
  const handedOver = deps.fastPathRequests.labels({ endpoint: 'token', outcome: 'handed_over' });

  async function answer(ctx: Context): Promise<boolean> {
    if (asksForOtherMechanisms(ctx)) return false;
    const form = await readTokenForm(ctx);
    const grant = form?.grant_type === undefined ? undefined : deps.grants.get(form.grant_type);
    return grant ? grant(ctx, form!) : false;
  }

  return async function tokenEndpointFastPath(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== '/token') return next();
    if (await answer(ctx)) {
      served.inc();
      return;
    }
    handedOver.inc();
    return next();
  };
}
