// The stores for short-lived data: oidc-provider's records and the revocation state. Both live
// in Redis when REDIS_URL is set (one client shared: a standalone server, or a Redis Cluster when
// REDIS_URL lists several seeds, see redis-client.ts), else in the Postgres / PGlite database.
import type { Database } from './database.js';
import { createPostgresEphemeralStore } from './ephemeral/postgres.js';
import { createRedisEphemeralStore } from './ephemeral/redis.js';
import type { EphemeralStore } from './ephemeral/types.js';
import { createRedisClient } from './redis-client.js';
import { createPostgresRevocationStore } from './revocations/postgres.js';
import { createRedisRevocationStore } from './revocations/redis.js';
import type { RevocationStore } from './revocations/types.js';

export interface ShortLivedStores {
  ephemeral: EphemeralStore;
  revocations: RevocationStore;
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
    const revocations = createPostgresRevocationStore({ db: options.db });
    return {
      ephemeral,
      revocations,
      configurationWarnings: async () => [],
      async close() {
        await ephemeral.close();
        await revocations.close();
      },
    };
  }
  const redis = createRedisClient(options.redisUrl, options.onRedisError);
  const ephemeral = createRedisEphemeralStore({ redis, keyPrefix: options.keyPrefix });
  const revocations = createRedisRevocationStore({ redis, keyPrefix: options.keyPrefix });
  return {
    ephemeral,
    revocations,
    configurationWarnings: () => evictionWarnings(redis),
    async close() {
      await ephemeral.close();
      await revocations.close();
      // QUIT lets in-flight commands finish; disconnect if Redis is not there to answer it.
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
