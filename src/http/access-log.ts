// One JSON line per request: method, path (never the query string, which can carry codes and
// tokens), status and duration, with a request id that is echoed back as X-Request-Id.
// Server errors log at error, client errors at info, the rest at debug (the token hot path
// should not pay for a log line at the default level).
import crypto from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../log.js';

const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/;

export function createAccessLog(log: Logger) {
  return function logRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('x-request-id');
    const requestId = requestIdPattern.test(incoming) ? incoming : crypto.randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    const finish = (): void => {
      const status = ctx.res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
      if (!log.isLevelEnabled(level)) return;
      log[level](
        {
          requestId,
          method: ctx.method,
          path: ctx.path,
          status,
          ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        },
        'request',
      );
    };
    ctx.res.once('finish', finish);
    return next();
  };
}
