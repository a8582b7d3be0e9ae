// Throttling with rate-limiter-flexible.
// - Login failures are counted where every instance sees them: Redis (REDIS_URL), else Postgres
//   (DATABASE_URL), else in memory (the embedded database runs in one process). Per username+IP:
//   a progressive delay from the third failure, a temporary lock after LOGIN_MAX_FAILURES. Per IP:
//   a lock after LOGIN_MAX_FAILURES_PER_IP failures an hour. Counting never depends on whether the
//   username exists, so the answers reveal nothing. Every attempt reserves its point before the
//   slow check (argon2, a TOTP code), so parallel guesses cannot all pass one reading of the
//   counter (login-throttle.ts).
// - Second-factor failures (wrong TOTP or recovery codes) are counted on the same back-end, per
//   user (every IP: RFC 4226 §7.3 throttles the account) with a lock after MFA_MAX_FAILURES, per IP
//   (the login per-IP counter), and per interaction, which ends after a few wrong codes
//   (NIST SP 800-63B §5.2.2).
// - Request rates at the token endpoints and the admin API are counted in each process's memory:
//   a Redis round trip on every token would cost more than it protects (client secrets are
//   256-bit, assertions single-use); the limits are per instance.
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { rateLimited } from '../rate-limited.js';
import { openBoundedPool } from '../stores/database.js';
import { createRedisClient } from '../stores/redis-client.js';

export interface Throttles {
  readonly loginFailuresByUser: RateLimiterAbstract;
  readonly loginFailuresByIp: RateLimiterAbstract;
  /** Wrong second-factor codes per user (sub). */
  readonly mfaFailuresByUser: RateLimiterAbstract;
  /** Second-factor attempts per interaction (uid); no lock, the interaction ends instead. */
  readonly mfaAttemptsByInteraction: RateLimiterAbstract;
  /** undefined when the limit is 0 (off). */
  readonly tokenRequestsByIp: RateLimiterAbstract | undefined;
  readonly tokenRequestsByClient: RateLimiterAbstract | undefined;
  readonly adminRequestsByIp: RateLimiterAbstract | undefined;
  readonly settings: Config['throttling'];
  close(): Promise<void>;
}

const loginWindowSeconds = 15 * 60;
const ipWindowSeconds = 60 * 60;
/** Wrong codes that end one sign-in (the user starts again with the password). */
export const mfaAttemptsPerInteraction = 3;
/** As long as an interaction can live (src/oidc/config/ttl.ts). */
const interactionWindowSeconds = 60 * 60;

/** A window of 10 s lets short bursts through while bounding the sustained rate. */
const rateWindowSeconds = 10;

function perWindow(points: number, keyPrefix: string): RateLimiterAbstract | undefined {
  return points > 0 ? new RateLimiterMemory({ points, duration: rateWindowSeconds, keyPrefix }) : undefined;
}

interface LimiterOptions {
  keyPrefix: string;
  points: number;
  duration: number;
  blockDuration: number;
}

type SharedName = 'byUser' | 'byIp' | 'mfaByUser' | 'mfaByInteraction';

async function sharedLimiters(config: Config, onRedisError: (error: Error) => void): Promise<Record<SharedName, RateLimiterAbstract> & { close(): Promise<void> }> {
  const { throttling } = config;
  const options: Record<SharedName, LimiterOptions> = {
    byUser: { keyPrefix: 'login_user', points: throttling.loginMaxFailures, duration: loginWindowSeconds, blockDuration: throttling.loginLockSeconds },
    byIp: { keyPrefix: 'login_ip', points: throttling.loginMaxFailuresPerIp, duration: ipWindowSeconds, blockDuration: throttling.loginLockSeconds },
    mfaByUser: { keyPrefix: 'mfa_user', points: throttling.mfaMaxFailures, duration: loginWindowSeconds, blockDuration: throttling.loginLockSeconds },
    mfaByInteraction: { keyPrefix: 'mfa_interaction', points: mfaAttemptsPerInteraction, duration: interactionWindowSeconds, blockDuration: 0 },
  };
  const each = async (create: (options: LimiterOptions) => RateLimiterAbstract | Promise<RateLimiterAbstract>) => ({
    byUser: await create(options.byUser),
    byIp: await create(options.byIp),
    mfaByUser: await create(options.mfaByUser),
    mfaByInteraction: await create(options.mfaByInteraction),
  });
  if (config.redisUrl) {
    // Without an error listener ioredis prints every failed reconnect as a multi-line trace.
    const redis = createRedisClient(config.redisUrl, onRedisError);
    const prefix = (name: string) => `${config.redisKeyPrefix}${name}`;
    return {
      ...(await each((limiter) => new RateLimiterRedis({ storeClient: redis, ...limiter, keyPrefix: prefix(limiter.keyPrefix) }))),
      async close() {
        await redis.quit().catch(() => redis.disconnect());
      },
    };
  }
  if (config.databaseUrl) {
    const pool = openBoundedPool(config.databaseUrl, 4, config.databaseQueryTimeout);
    const create = (limiter: LimiterOptions) =>
      new Promise<RateLimiterAbstract>((resolve, reject) => {
        const created: RateLimiterAbstract = new RateLimiterPostgres(
          { storeClient: pool, storeType: 'pool', tableName: 'login_throttle', ...limiter },
          (error?: Error) => (error ? reject(error) : resolve(created)),
        );
      });
    return { ...(await each(create)), close: () => pool.end() };
  }
  return { ...(await each((limiter) => new RateLimiterMemory(limiter))), close: async () => {} };
}

export interface ThrottleOptions {
  /** Where connection problems of the login-throttle Redis client go (already rate-limited). */
  readonly log?: Pick<Logger, 'warn'>;
}

/** One warning line per 10 s at most while Redis keeps failing. */
const redisWarningIntervalMs = 10_000;

export async function createThrottles(config: Config, options: ThrottleOptions = {}): Promise<Throttles> {
  const { log } = options;
  const onRedisError = rateLimited<Error>(
    (error, suppressed) => log?.warn({ err: error.message, client: 'login-throttle', suppressed }, 'redis connection problem'),
    redisWarningIntervalMs,
  );
  const shared = await sharedLimiters(config, onRedisError);
  const { throttling } = config;
  return {
    loginFailuresByUser: shared.byUser,
    loginFailuresByIp: shared.byIp,
    mfaFailuresByUser: shared.mfaByUser,
    mfaAttemptsByInteraction: shared.mfaByInteraction,
    tokenRequestsByIp: perWindow(throttling.tokenRequestsPerIp, 'token_ip'),
    tokenRequestsByClient: perWindow(throttling.tokenRequestsPerClient, 'token_client'),
    adminRequestsByIp: perWindow(throttling.adminRequestsPerIp, 'admin_ip'),
    settings: throttling,
    close: () => shared.close(),
  };
}
