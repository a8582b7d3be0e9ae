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
  close(): Promise<void>;
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
    async close() {
      await ephemeral.close();
      await revocations.close();
      // QUIT lets in-flight commands finish; disconnect if Redis is not there to answer it.
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
