// Picks the ephemeral store: Redis when REDIS_URL is set, else the Postgres / PGlite database.
import { createRedisClient } from '../redis-client.js';
import type { Database } from '../database.js';
import { createPostgresEphemeralStore } from './postgres.js';
import { createRedisEphemeralStore } from './redis.js';
import type { EphemeralStore } from './types.js';

export { createPostgresEphemeralStore, purgeExpired } from './postgres.js';
export { createRedisEphemeralStore } from './redis.js';
export { grantableModels, maxRecordLifetime } from './types.js';
export type { EphemeralStore, OneTimeUse, Payload } from './types.js';

export async function openEphemeralStore(options: {
  redisUrl?: string | undefined;
  db: Database;
  keyPrefix?: string | undefined;
  /** Connection errors of the Redis client (it keeps retrying); without it ioredis prints them. */
  onRedisError?: (error: Error) => void;
}): Promise<EphemeralStore> {
  if (!options.redisUrl) return createPostgresEphemeralStore({ db: options.db });

  const redis = createRedisClient(options.redisUrl, options.onRedisError);

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
