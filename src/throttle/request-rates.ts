// Per-instance request rates: the token endpoints (token, introspection, revocation) per client
// IP and per authenticated client, and the admin API per client IP. A request
// over the rate gets 429 with Retry-After and `slow_down` (RFC 8628 §3.5's word for it).
import { formDecode, readBasicCredentials } from '../http/basic-credentials.js';
import type { Context, Next } from 'koa';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { tooManyRequests, type HttpError } from '../http/errors.js';
import type { Throttles } from './throttles.js';

const tokenPaths = new Set(['/token', '/token/introspection', '/token/revocation']);

/**
 * Whether oidc-provider will serve this path as one of the token endpoints. Its router ignores
 * case and one trailing slash (oidc-provider/lib/helpers/router.js), so /TOKEN/ is the token endpoint too and
 * must count against the same limits. Lower-casing is a little broader than its ASCII-only folding:
 * at worst a path it would not serve is counted.
 */
function isTokenEndpoint(path: string): boolean {
  const folded = path.toLowerCase();
  return tokenPaths.has(folded.length > 1 && folded.endsWith('/') ? folded.slice(0, -1) : folded);
}

export type OnThrottled = (limit: string) => void;

function slowDown(msBeforeNext: number): HttpError {
  return tooManyRequests(Math.max(1, Math.ceil(msBeforeNext / 1000)));
}

async function consumeOrThrow(limiter: RateLimiterAbstract | undefined, key: string, limit: string, onThrottled: OnThrottled): Promise<void> {
  if (!limiter) return;
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    onThrottled(limit);
    throw slowDown(rejection.msBeforeNext);
  }
}

/** The client id of an HTTP Basic header (RFC 6749 §2.3.1), if there is one. */
function basicClientId(header: string): string | undefined {
  const credentials = readBasicCredentials(header);
  return credentials && formDecode(credentials.rawId);
}

/**
 * Clients whose budget is spent, until when (ms since the epoch). Filled by the request that
 * takes a client's last point, so the check before authentication is a map lookup rather than a
 * limiter read on every request. Only clients at their rate are in it; an entry leaves when it
 * is next read after its window, or in a sweep once the map holds many.
 */
const spentClientsSweepSize = 1024;

function createSpentClients() {
  const spentUntil = new Map<string, number>();
  const sweep = (now: number): void => {
    for (const [clientId, until] of spentUntil) if (until <= now) spentUntil.delete(clientId);
  };
  return {
    /** Whether any client is (or recently was) at its rate: if not, nobody needs looking up. */
    any: (): boolean => spentUntil.size > 0,
    msLeft(clientId: string): number {
      const until = spentUntil.get(clientId);
      if (until === undefined) return 0;
      const left = until - Date.now();
      if (left <= 0) spentUntil.delete(clientId);
      return left;
    },
    spend(clientId: string, msBeforeNext: number): void {
      const now = Date.now();
      if (spentUntil.size >= spentClientsSweepSize) sweep(now);
      spentUntil.set(clientId, now + msBeforeNext);
    },
  };
}

/**
 * The client a token-endpoint request authenticated as: named by a fast path (oidc/fast-path),
 * or by the library, which names the client before it checks the
 * credentials (a failed check is 401).
 */
function authenticatedClientId(ctx: Context): string | undefined {
  const byFastPath = ctx.state.authenticatedClientId as string | undefined;
  if (byFastPath) return byFastPath;
  const client = (ctx as Context & { oidc?: { client?: { clientId: string } } }).oidc?.client;
  return client && ctx.status !== 401 ? client.clientId : undefined;
}

export function createTokenRateLimit(throttles: Throttles, onThrottled: OnThrottled = () => {}) {
  const spent = createSpentClients();
  return async function limitTokenRequests(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || !isTokenEndpoint(ctx.path)) {
      await next();
      return;
    }
    await consumeOrThrow(throttles.tokenRequestsByIp, ctx.ip, 'token_ip', onThrottled);
    const byClient = throttles.tokenRequestsByClient;
    if (!byClient) {
      await next();
      return;
    }
    // A client's budget is spent only by requests that authenticated as that client: whoever
    // sends its client_id with a wrong secret must not be able to lock it out. Once spent, the
    // client is refused before authentication, by the id in its Basic header.
    const claimed = spent.any() ? basicClientId(ctx.get('authorization')) : undefined;
    const msLeft = claimed ? spent.msLeft(claimed) : 0;
    if (msLeft > 0) {
      onThrottled('token_client');
      throw slowDown(msLeft);
    }
    await next();
    const clientId = authenticatedClientId(ctx);
    if (clientId) {
      // The request that takes the last point marks the client spent for the rest of the window.
      const state = await byClient.consume(clientId).catch((rejection: unknown) => rejection);
      if (state instanceof RateLimiterRes && state.remainingPoints <= 0) spent.spend(clientId, state.msBeforeNext);
    }
  };
}

export function createAdminRateLimit(throttles: Throttles, onThrottled: OnThrottled = () => {}) {
  return async function limitAdminRequests(ctx: Context, next: Next): Promise<void> {
    await consumeOrThrow(throttles.adminRequestsByIp, ctx.ip, 'admin_ip', onThrottled);
    await next();
  };
}
