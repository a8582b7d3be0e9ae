// One HTTP exchange with the issuer: a network failure names the issuer, and an error answer
// becomes an ApiError carrying the server's `error` and `error_description`.
import { ApiError, CliError } from './errors.js';

const requestTimeoutMs = 30_000; // a hung server should not hang a script forever

export interface JsonResponse {
  status: number;
  body: unknown;
}

function describeCause(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${requestTimeoutMs / 1000}s`;
  const cause = error instanceof Error ? (error.cause ?? error) : error;
  if (cause instanceof AggregateError && cause.errors.length) return describeCause(cause.errors[0]);
  if (cause instanceof Error) return cause.message || (cause as NodeJS.ErrnoException).code || cause.name;
  return String(cause);
}

function errorFromAnswer(response: Response, text: string): ApiError {
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    if (typeof body.error === 'string') {
      const description = typeof body.error_description === 'string' ? body.error_description : undefined;
      return new ApiError(response.status, body.error, description);
    }
  } catch {
    // not JSON: fall through to a description of the status
  }
  return new ApiError(response.status, 'http_error', `HTTP ${response.status} ${response.statusText} from ${response.url}`);
}

export async function exchange(issuer: string, url: string, init: RequestInit): Promise<JsonResponse> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(requestTimeoutMs) });
  } catch (error) {
    throw new CliError(`cannot reach the issuer at ${issuer}: ${describeCause(error)}`);
  }
  const text = await response.text();
  if (!response.ok) throw errorFromAnswer(response, text);
  if (response.status === 204 || text === '') return { status: response.status, body: undefined };
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new CliError(`the issuer at ${issuer} answered ${url} with something that is not JSON`);
  }
}
