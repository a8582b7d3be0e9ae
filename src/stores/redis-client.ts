// The one way we create an ioredis client, for every store that lives in Redis.
import { Redis } from 'ioredis';

// Chosen so that a Redis outage turns into errors within a few seconds (the request fails, the
// readiness probe reports it) instead of requests hanging, while the client keeps reconnecting
// on its own. Commands issued while (re)connecting wait in the offline queue, bounded by these.
/** Longest wait for any one command, queued or sent (milliseconds). */
const commandTimeoutMs = 2_000;
/** Longest wait for a TCP connection to be established (milliseconds). */
const connectTimeoutMs = 2_000;
/** Delay before reconnect attempt n: 100 ms more each time, at most 1 s; never gives up. */
const reconnectDelayMs = (attempt: number) => Math.min(attempt * 100, 1_000);

export function createRedisClient(url: string, onError?: (error: Error) => void): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    // Queued commands are failed after one unsuccessful reconnect instead of waiting for 20.
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    retryStrategy: reconnectDelayMs,
  });
  if (onError) redis.on('error', onError);
  return redis;
}
