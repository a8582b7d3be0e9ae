// The library's failures that are not bugs, answered in our vocabulary (http/errors.ts).
// When a store is unreachable, oidc-provider answers 500 server_error (it cannot tell an outage
// from a bug). We answer 503 temporarily_unavailable with Retry-After instead, so clients retry,
// and log it as an outage. Nothing was issued: the library failed before saving anything. A
// value no store can hold (a NUL character) is bad input: 400, not a server error.
// Every other answer of the library, its OAuth errors included, goes out as the library made it.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { classifyError, HttpError, renderErrorPage, renderJsonError } from '../http/errors.js';
import type { Views } from '../http/views.js';
import type { Logger } from '../log.js';

/** The failure of a request whose 500 we answer ourselves, by request. */
const reanswered = new WeakMap<object, HttpError>();

export function answerLibraryFailures(provider: Provider, deps: { views: Views; log: Logger }): void {
  // oidc-provider/lib/shared/error_handler.js emits `server_error` with the error for every 500 it answers
  // (every error it does not expose), pages and JSON alike: the one place they are logged.
  provider.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => {
    const { kind, problem } = classifyError(error);
    if (kind === 'outage' || kind === 'bad_input') reanswered.set(ctx, problem);
    else deps.log.error({ err: error, method: ctx.method, path: ctx.path }, 'oidc-provider server_error');
  });
  provider.use(async function reanswerLibraryFailures(ctx, next) {
    await next();
    const problem = reanswered.get(ctx);
    if (!problem) return;
    if (problem.status === 503) deps.log.warn({ method: ctx.method, path: ctx.path }, 'a data store is unavailable');
    // The library chose a page or JSON for this request (error_handler.js: `ctx.accepts`): so do we.
    if (ctx.type === 'text/html') renderErrorPage(ctx, deps.views, problem);
    else renderJsonError(ctx, problem);
  });
}

/**
 * The library's `renderError` (its error pages, e.g. an unknown client at the authorization
 * endpoint): our page with the library's own status, code and description; `out` is what
 * oidc-provider/lib/helpers/err_out.js made of the error, so the wire format stays the library's. Errors it
 * does not expose are logged by the `server_error` listener above.
 */
export function createLibraryErrorPage(deps: { views: Views }) {
  return function renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): void {
    renderErrorPage(ctx, deps.views, new HttpError(ctx.status, out.error, out.error_description ?? ''));
  };
}
