// Per-instance request rates: the token endpoints (token, introspection, revocation) per client
// IP and per client (from HTTP Basic credentials), and the admin API per client IP. A request
// over the rate gets 429 with Retry-After and `slow_down` (RFC 8628 §3.5's word for it).
import type { Context, Next } from 'koa';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { HttpError } from '../http/errors.js';
import type { Throttles } from './throttles.js';

const tokenPaths = new Set(['/token', '/token/introspection', '/token/revocation']);

export type OnThrottled = (limit: string) => void;

async function consumeOrThrow(limiter: RateLimiterAbstract | undefined, key: string, limit: string, onThrottled: OnThrottled): Promise<void> {
  if (!limiter) return;
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    onThrottled(limit);
    const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw new HttpError(429, 'slow_down', `too many requests; retry after ${retryAfter} s`, { 'Retry-After': String(retryAfter) });
  }
}

/** The client id of an HTTP Basic header (RFC 6749 §2.3.1), if there is one. */
function basicClientId(header: string): string | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]{1,2048})$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

export function createTokenRateLimit(throttles: Throttles, onThrottled: OnThrottled = () => {}) {
  return async function limitTokenRequests(ctx: Context, next: Next): Promise<void> {
    if (ctx.method === 'POST' && tokenPaths.has(ctx.path)) {
      await consumeOrThrow(throttles.tokenRequestsByIp, ctx.ip, 'token_ip', onThrottled);
      const clientId = throttles.tokenRequestsByClient && basicClientId(ctx.get('authorization'));
      if (clientId) await consumeOrThrow(throttles.tokenRequestsByClient, clientId, 'token_client', onThrottled);
    }
    await next();
  };
}

export function createAdminRateLimit(throttles: Throttles, onThrottled: OnThrottled = () => {}) {
  return async function limitAdminRequests(ctx: Context, next: Next): Promise<void> {
    await consumeOrThrow(throttles.adminRequestsByIp, ctx.ip, 'admin_ip', onThrottled);
    await next();
  };
}
