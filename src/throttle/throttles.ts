// Throttling with rate-limiter-flexible.
// - Login failures are counted where every instance sees them: Redis (REDIS_URL), else Postgres
//   (DATABASE_URL), else in memory (the embedded database runs in one process). Per username+IP:
//   a progressive delay from the third failure, a temporary lock after LOGIN_MAX_FAILURES. Per IP:
//   a lock after LOGIN_MAX_FAILURES_PER_IP failures an hour. Counting never depends on whether the
//   username exists, so the answers reveal nothing.
// - Request rates at the token endpoints and the admin API are counted in each process's memory:
//   a Redis round trip on every token would cost more than it protects (client secrets are
//   256-bit, assertions single-use); the limits are per instance.
import pg from 'pg';
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from '../config/index.js';
import { createRedisClient } from '../stores/redis-client.js';

export interface Throttles {
  readonly loginFailuresByUser: RateLimiterAbstract;
  readonly loginFailuresByIp: RateLimiterAbstract;
  /** undefined when the limit is 0 (off). */
  readonly tokenRequestsByIp: RateLimiterAbstract | undefined;
  readonly tokenRequestsByClient: RateLimiterAbstract | undefined;
  readonly adminRequestsByIp: RateLimiterAbstract | undefined;
  readonly settings: Config['throttling'];
  close(): Promise<void>;
}

const loginWindowSeconds = 15 * 60;
const ipWindowSeconds = 60 * 60;

/** A window of 10 s lets short bursts through while bounding the sustained rate. */
const rateWindowSeconds = 10;

function perWindow(points: number, keyPrefix: string): RateLimiterAbstract | undefined {
  return points > 0 ? new RateLimiterMemory({ points, duration: rateWindowSeconds, keyPrefix }) : undefined;
}

async function sharedLimiters(config: Config): Promise<{
  byUser: RateLimiterAbstract;
  byIp: RateLimiterAbstract;
  close(): Promise<void>;
}> {
  const { throttling } = config;
  const byUser = { keyPrefix: 'login_user', points: throttling.loginMaxFailures, duration: loginWindowSeconds, blockDuration: throttling.loginLockSeconds };
  const byIp = { keyPrefix: 'login_ip', points: throttling.loginMaxFailuresPerIp, duration: ipWindowSeconds, blockDuration: throttling.loginLockSeconds };
  if (config.redisUrl) {
    const redis = createRedisClient(config.redisUrl);
    const prefix = (name: string) => `${config.redisKeyPrefix}${name}`;
    return {
      byUser: new RateLimiterRedis({ storeClient: redis, ...byUser, keyPrefix: prefix(byUser.keyPrefix) }),
      byIp: new RateLimiterRedis({ storeClient: redis, ...byIp, keyPrefix: prefix(byIp.keyPrefix) }),
      async close() {
        await redis.quit().catch(() => redis.disconnect());
      },
    };
  }
  if (config.databaseUrl) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 4, connectionTimeoutMillis: 5_000 });
    pool.on('error', () => {});
    const create = (options: typeof byUser) =>
      new Promise<RateLimiterAbstract>((resolve, reject) => {
        const limiter: RateLimiterAbstract = new RateLimiterPostgres(
          { storeClient: pool, storeType: 'pool', tableName: 'login_throttle', ...options },
          (error?: Error) => (error ? reject(error) : resolve(limiter)),
        );
      });
    return { byUser: await create(byUser), byIp: await create(byIp), close: () => pool.end() };
  }
  return { byUser: new RateLimiterMemory(byUser), byIp: new RateLimiterMemory(byIp), close: async () => {} };
}

export async function createThrottles(config: Config): Promise<Throttles> {
  const shared = await sharedLimiters(config);
  const { throttling } = config;
  return {
    loginFailuresByUser: shared.byUser,
    loginFailuresByIp: shared.byIp,
    tokenRequestsByIp: perWindow(throttling.tokenRequestsPerIp, 'token_ip'),
    tokenRequestsByClient: perWindow(throttling.tokenRequestsPerClient, 'token_client'),
    adminRequestsByIp: perWindow(throttling.adminRequestsPerIp, 'admin_ip'),
    settings: throttling,
    close: () => shared.close(),
  };
}
