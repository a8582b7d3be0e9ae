// A fast path in front of one of oidc-provider's form endpoints: it reads the form once and either
// answers the request or hands it to the library exactly as it came (token-form.ts keeps the body
// for it), and counts which (portcullis_token_fast_path_requests_total).
import type { Context, Middleware, Next } from 'koa';
import type { Counter } from 'prom-client';
import { asksForOtherMechanisms, readTokenForm, type Form } from './token-form.js';

/** Answers the request and resolves true, or resolves false having changed nothing. */
export type FastAnswer = (ctx: Context, form: Form) => Promise<boolean>;

export type FastPathCounter = Counter<'endpoint' | 'outcome'>;

export function createFastPath(endpoint: 'token' | 'introspection', path: string, answer: FastAnswer, counter: FastPathCounter): Middleware {
  const served = counter.labels({ endpoint, outcome: 'served' });
  const handedOver = counter.labels({ endpoint, outcome: 'handed_over' });
  return async function fastPath(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== path) {
      await next();
      return;
    }
    const form = asksForOtherMechanisms(ctx) ? undefined : await readTokenForm(ctx);
    if (form && (await answer(ctx, form))) {
      served.inc();
      return;
    }
    handedOver.inc();
    await next();
  };
}
