// One error type for our own HTTP surfaces (admin API, health, assets). oidc-provider answers
// its own routes with its own OAuth errors.
import type { Context, Next } from 'koa';
import type { Logger } from '../log.js';
import { isStoreUnavailable } from '../stores/availability.js';
import { InvalidTextParameterError } from '../stores/text.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
    this.name = 'HttpError';
  }
}

export const badRequest = (description: string, code = 'invalid_request') => new HttpError(400, code, description);
export const notFound = (description: string) => new HttpError(404, 'not_found', description);
export const conflict = (description: string) => new HttpError(409, 'conflict', description);

/** Answers HttpErrors as JSON; anything else is logged with its stack and answered as a bare 500. */
export function createErrorHandler(log: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      if (error instanceof HttpError) {
        ctx.status = error.status;
        ctx.set(error.headers);
        ctx.body = { error: error.code, error_description: error.description };
        return;
      }
      if (error instanceof InvalidTextParameterError) {
        ctx.status = 400;
        ctx.body = { error: 'invalid_request', error_description: error.message };
        return;
      }
      if (isStoreUnavailable(error)) {
        log.warn({ err: (error as Error).message, method: ctx.method, path: ctx.path }, 'a data store is unavailable');
        ctx.status = 503;
        ctx.set('Retry-After', '5');
        ctx.body = { error: 'temporarily_unavailable', error_description: 'a data store is unavailable; try again shortly' };
        return;
      }
      log.error({ err: error, method: ctx.method, path: ctx.path }, 'unhandled error');
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: 'an unexpected error occurred' };
    }
  };
}
