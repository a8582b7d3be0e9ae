// When a store is unreachable, oidc-provider answers 500 server_error (it cannot tell an outage
// from a bug). We answer 503 temporarily_unavailable with Retry-After instead, so clients retry,
// and log it as an outage. Nothing was issued: the library failed before saving anything.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Views } from '../http/views.js';
import type { Logger } from '../log.js';
import { isStoreUnavailable } from '../stores/availability.js';
import { InvalidTextParameterError } from '../stores/text.js';

const outages = new WeakSet<object>();
const badInput = new WeakSet<object>();

export function answerStoreOutagesWith503(provider: Provider, deps: { views: Views; log: Logger }): void {
  provider.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => {
    if (isStoreUnavailable(error)) outages.add(ctx);
    if (error instanceof InvalidTextParameterError) badInput.add(ctx);
  });
  provider.use(async function storeOutagesAre503(ctx, next) {
    await next();
    // A value no store can hold (a NUL character) is bad input, not a server error.
    if (badInput.has(ctx)) {
      ctx.status = 400;
      ctx.body = ctx.type === 'text/html'
        ? deps.views.render('error', { error: 'invalid_request', description: 'The request contains characters that are not allowed.' })
        : { error: 'invalid_request', error_description: 'the request must not contain NUL characters' };
      return;
    }
    if (!outages.has(ctx)) return;
    deps.log.warn({ path: ctx.path }, 'a data store is unavailable');
    ctx.status = 503;
    ctx.set('Retry-After', '5');
    const description = 'a data store is unavailable; try again shortly';
    if (ctx.type === 'text/html') {
      ctx.body = deps.views.render('error', {
        error: 'temporarily_unavailable',
        description: 'This service is temporarily unavailable. Please try again in a moment.',
      });
    } else {
      ctx.body = { error: 'temporarily_unavailable', error_description: description };
    }
  });
}
