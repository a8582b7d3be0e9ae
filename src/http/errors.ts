// Errors become answers here and only here. One vocabulary: an OAuth error code (RFC 6749 §5.2,
// §4.1.2.1), a description, an HTTP status and headers (HttpError). One classification of
// anything thrown (classifyError), one JSON renderer and one page renderer (views/error.eta).
// oidc-provider answers its own routes with its own OAuth errors; src/oidc/library-errors.ts
// re-answers only the failures the library cannot tell from a bug (a store outage, bad text).
import type { Context, Next } from 'koa';
import type { Logger } from '../log.js';
import { isStoreUnavailable } from '../stores/availability.js';
import { InvalidTextParameterError } from '../stores/text.js';
import type { Views } from './views.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    /** For developers: the JSON `error_description`. */
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
    /** For people: what an error page says instead of `description`, when that is for developers. */
    readonly pageText?: string,
  ) {
    super(description);
    this.name = 'HttpError';
  }
}

export const badRequest = (description: string, code = 'invalid_request') => new HttpError(400, code, description);
export const notFound = (description: string) => new HttpError(404, 'not_found', description);
export const conflict = (description: string) => new HttpError(409, 'conflict', description);

/** RFC 6585 §4 with Retry-After (RFC 9110 §10.2.3); `slow_down` is RFC 8628 §3.5's word for it. */
export function tooManyRequests(retryAfterSeconds: number): HttpError {
  return new HttpError(429, 'slow_down', `too many requests; retry after ${retryAfterSeconds} s`, { 'Retry-After': String(retryAfterSeconds) });
}

/** Seconds a client waits before retrying after a store outage. */
const outageRetryAfterSeconds = 5;

/**
 * A store is unreachable: nothing was done, try again (RFC 6749 §4.1.2.1 `temporarily_unavailable`,
 * RFC 9110 §15.6.4 503 with Retry-After). `pageText` names what is unavailable to a person.
 */
export function storeUnavailable(pageText = 'This service is temporarily unavailable. Please try again in a moment.'): HttpError {
  return new HttpError(
    503,
    'temporarily_unavailable',
    'a data store is unavailable; try again shortly',
    { 'Retry-After': String(outageRetryAfterSeconds) },
    pageText,
  );
}

/** A value no store can hold (stores/text.ts: a NUL character) is bad input, not a server error. */
function unstorableText(): HttpError {
  return new HttpError(400, 'invalid_request', 'the request must not contain NUL characters', {}, 'The request contains characters that are not allowed.');
}

function unexpected(): HttpError {
  return new HttpError(500, 'server_error', 'an unexpected error occurred', {}, 'An unexpected error occurred.');
}

/**
 * An OAuth error as oidc-provider's errors carry it: `error` (the code), `error_description`,
 * `status` and `expose` (true for every 4xx; oidc-provider/lib/helpers/errors.js OIDCProviderError, the same
 * properties oidc-provider/lib/helpers/err_out.js answers from). Recognised by those properties, never by text.
 */
interface OAuthErrorLike {
  error: string;
  error_description?: string;
  status: number;
  expose: true;
}

function isOAuthError(error: unknown): error is OAuthErrorLike {
  const candidate = error as Partial<OAuthErrorLike> | null;
  return (
    candidate instanceof Error &&
    candidate.expose === true &&
    typeof candidate.error === 'string' &&
    typeof candidate.status === 'number' &&
    candidate.status >= 400 &&
    candidate.status < 500
  );
}

/** `answer`: a refusal to send as it is; `outage`: a store is down; `unexpected`: a bug, logged with its stack. */
export type ErrorKind = 'answer' | 'bad_input' | 'outage' | 'unexpected';

export interface ClassifiedError {
  kind: ErrorKind;
  problem: HttpError;
}

/** What anything thrown means for the answer. */
export function classifyError(error: unknown): ClassifiedError {
  if (error instanceof HttpError) return { kind: 'answer', problem: error };
  if (isOAuthError(error)) {
    return { kind: 'answer', problem: new HttpError(error.status, error.error, error.error_description ?? '') };
  }
  if (error instanceof InvalidTextParameterError) return { kind: 'bad_input', problem: unstorableText() };
  if (isStoreUnavailable(error)) return { kind: 'outage', problem: storeUnavailable() };
  return { kind: 'unexpected', problem: unexpected() };
}

/** Outages are warnings (the store is down, not the code); anything unexpected is logged with its stack. */
export function logClassified(log: Logger, classified: ClassifiedError, error: unknown, fields: Record<string, unknown>): void {
  if (classified.kind === 'outage') log.warn({ err: (error as Error).message, ...fields }, 'a data store is unavailable');
  else if (classified.kind === 'unexpected') log.error({ err: error, ...fields }, 'unhandled error');
}

function answerWith(ctx: Context, problem: HttpError): void {
  ctx.status = problem.status;
  ctx.set(problem.headers);
}

/** The JSON answer: `{"error", "error_description"}` (RFC 6749 §5.2). */
export function renderJsonError(ctx: Context, problem: HttpError): void {
  answerWith(ctx, problem);
  ctx.body = { error: problem.code, error_description: problem.description };
}

/** The page answer (views/error.eta): never cached, never a redirect back to a client. */
export function renderErrorPage(ctx: Context, views: Views, problem: HttpError): void {
  answerWith(ctx, problem);
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = views.render('error', { error: problem.code, description: problem.pageText ?? problem.description });
}

/** Our JSON surfaces (admin API, fast paths, health, assets): every error thrown below becomes its answer. */
export function createErrorHandler(log: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      const classified = classifyError(error);
      logClassified(log, classified, error, { method: ctx.method, path: ctx.path });
      renderJsonError(ctx, classified.problem);
    }
  };
}
