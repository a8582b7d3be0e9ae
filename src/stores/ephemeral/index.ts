// Picks the ephemeral store: Redis when REDIS_URL is set, else the Postgres / PGlite database.
import { Redis } from 'ioredis';
import type { Database } from '../database.js';
import { createPostgresEphemeralStore } from './postgres.js';
import { createRedisEphemeralStore } from './redis.js';
import type { EphemeralStore } from './types.js';

export { createPostgresEphemeralStore, purgeExpired } from './postgres.js';
export { createRedisEphemeralStore } from './redis.js';
export { grantableModels, maxRecordLifetime } from './types.js';
export type { EphemeralStore, Payload } from './types.js';

// Chosen so that a Redis outage turns into errors within a few seconds (the request fails, the
// readiness probe reports it) instead of requests hanging, while the client keeps reconnecting
// on its own. Commands issued while (re)connecting wait in the offline queue, bounded by these.
/** Longest wait for any one command, queued or sent (milliseconds). */
const commandTimeoutMs = 2_000;
/** Longest wait for a TCP connection to be established (milliseconds). */
const connectTimeoutMs = 2_000;
/** Delay before reconnect attempt n: 100 ms more each time, at most 1 s; never gives up. */
const reconnectDelayMs = (attempt: number) => Math.min(attempt * 100, 1_000);

export async function openEphemeralStore(options: {
  redisUrl?: string | undefined;
  db: Database;
  keyPrefix?: string | undefined;
  /** Connection errors of the Redis client (it keeps retrying); without it ioredis prints them. */
  onRedisError?: (error: Error) => void;
}): Promise<EphemeralStore> {
  if (!options.redisUrl) return createPostgresEphemeralStore({ db: options.db });

  const redis = new Redis(options.redisUrl, {
    lazyConnect: false,
    // Queued commands are failed after one unsuccessful reconnect instead of waiting for 20.
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    retryStrategy: reconnectDelayMs,
  });
  if (options.onRedisError) redis.on('error', options.onRedisError);

  const store = createRedisEphemeralStore({
    redis,
    ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
  });
  return {
    ...store,
    async close() {
      await store.close();
      // QUIT lets in-flight commands finish; disconnect if Redis is not there to answer it.
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
