// The stores for short-lived data: oidc-provider's records live in Redis when REDIS_URL is set
// (one client shared: a standalone server, or a Redis Cluster when REDIS_URL lists several seeds,
// see redis-client.ts), else in the Postgres / PGlite database. The same Redis client carries
// the copy of the revocation state (revocation/revocations.ts), whose record is in Postgres.
import type { Database } from './database.js';
import { createPostgresEphemeralStore } from './ephemeral/postgres.js';
import { createRedisEphemeralStore } from './ephemeral/redis.js';
import type { EphemeralStore } from './ephemeral/types.js';
import { createRedisClient, type RedisConnection } from './redis-client.js';

export interface ShortLivedStores {
  ephemeral: EphemeralStore;
  /** The Redis client, when REDIS_URL is set. */
  redis: RedisConnection | undefined;
  /** Problems in the store's own configuration worth a warning at start (empty when fine). */
  configurationWarnings(): Promise<string[]>;
  close(): Promise<void>;
}

// Every key we write has a TTL, so volatile-* policies may evict them as readily as allkeys-*:
// only noeviction keeps replay markers and revocations until they expire.
async function evictionWarnings(redis: ReturnType<typeof createRedisClient>): Promise<string[]> {
  try {
    const reply = (await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    if (policy && policy !== 'noeviction') {
      return [
        `Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict replay markers, ` +
          'revocations or sessions. Set maxmemory-policy noeviction.',
      ];
    }
    return [];
  } catch {
    return ['could not read Redis maxmemory-policy (CONFIG GET refused?); make sure it is noeviction'];
  }
}

export function openShortLivedStores(options: {
  redisUrl: string | undefined;
  keyPrefix: string;
  db: Database;
  onRedisError?: (error: Error) => void;
}): ShortLivedStores {
  if (!options.redisUrl) {
    const ephemeral = createPostgresEphemeralStore({ db: options.db });
    return {
      ephemeral,
      redis: undefined,
      configurationWarnings: async () => [],
      async close() {
        await ephemeral.close();
      },
    };
  }
  const redis = createRedisClient(options.redisUrl, options.onRedisError);
  const ephemeral = createRedisEphemeralStore({ redis, keyPrefix: options.keyPrefix });
  return {
    ephemeral,
    redis,
    configurationWarnings: () => evictionWarnings(redis),
    async close() {
      await ephemeral.close();
      // QUIT lets in-flight commands finish; disconnect if Redis is not there to answer it.
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
