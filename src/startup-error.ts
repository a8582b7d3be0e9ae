// Why the server could not start, told as one line that names the setting or file at fault
// ("DATABASE_URL: connection refused at 127.0.0.1:5440"), so an operator reads the cause and not a
// stack trace. `retryable` says whether the same start may succeed later (a database still coming
// up) or never will until someone edits the configuration or a file (a corrupt key file): the
// cluster primary retries the first kind with backoff and gives up at once on the second.

export class StartupError extends Error {
  override readonly name = 'StartupError';
  readonly retryable: boolean;
  constructor(
    /** The environment variable or file at fault, e.g. "DATABASE_URL", "KEYS_DIR/cookie-keys.json". */
    readonly setting: string,
    /** What is wrong with it, without the setting's name. */
    readonly problem: string,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super(`${setting}: ${problem}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
  }
}

interface SystemErrorLike {
  code?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** Network failures worth retrying: the peer may come up later. */
const transientCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P03']);

/** "connection refused at 127.0.0.1:5440" and the like, for a socket or Postgres error. */
export function describeConnectionError(error: unknown): { problem: string; retryable: boolean } {
  // Node reports a refused `localhost` (tried over IPv4 and IPv6) as an AggregateError.
  const first = (error as SystemErrorLike).errors;
  const detail = (Array.isArray(first) && first.length > 0 ? first[0] : error) as SystemErrorLike;
  const code = typeof detail.code === 'string' ? detail.code : undefined;
  const where =
    typeof detail.address === 'string'
      ? ` at ${detail.address}${typeof detail.port === 'number' ? `:${detail.port}` : ''}`
      : typeof detail.hostname === 'string'
        ? ` (${detail.hostname})`
        : '';
  const message = typeof detail.message === 'string' && detail.message !== '' ? detail.message : String(error);
  switch (code) {
    case 'ECONNREFUSED':
      return { problem: `connection refused${where}`, retryable: true };
    case 'ENOTFOUND':
      return { problem: `host not found${where}`, retryable: false };
    case 'ETIMEDOUT':
      return { problem: `connection timed out${where}`, retryable: true };
    case '28P01':
    case '28000':
      return { problem: `authentication failed: ${message}`, retryable: false };
    case '3D000':
      return { problem: message, retryable: false };
    default:
      if (/timeout/i.test(message)) return { problem: `connection timed out: ${message}`, retryable: true };
      return { problem: message, retryable: code !== undefined && transientCodes.has(code) };
  }
}

/** "permission denied", "no such file" and so on, for a file-system error on a named file. */
export function describeFileError(error: unknown): string {
  switch ((error as SystemErrorLike).code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EROFS':
      return 'read-only file system';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** The one line to print for an error that stopped the start. */
export function startupFailureLine(error: unknown): string {
  if (error instanceof StartupError) return error.message;
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}

/** Whether a start that failed with this error may succeed when tried again unchanged. */
export function isRetryable(error: unknown): boolean {
  return error instanceof StartupError ? error.retryable : true;
}
