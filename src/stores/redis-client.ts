// The one way we create an ioredis client, for every store that lives in Redis: a standalone
// server, or a Redis Cluster through ioredis' Cluster client.
//
// Which one: REDIS_URL holds one `redis://host:port` URL for a standalone server, or (docs/DESIGN.md,
// "Runtime contract") a comma-separated list of seed URLs for a cluster. The number of seeds
// decides, with no `?cluster=true` marker: a marker would be a second way to say the same thing,
// and a cluster is better given several seeds anyway (the client still finds it when one seed is
// down). A cluster reachable through one address only (a managed "configuration endpoint") is
// given as that URL twice.
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';

/** Either client; the stores use only commands both have, each on keys of one slot. */
export type RedisConnection = Redis | Cluster;

// Chosen so that a Redis outage turns into errors within a few seconds (the request fails, the
// readiness probe reports it) instead of requests hanging, while the client keeps reconnecting
// on its own. Commands issued while (re)connecting wait in the offline queue, bounded by these.
/** Longest wait for any one command, queued or sent (milliseconds). */
const commandTimeoutMs = 2_000;
/** Longest wait for a TCP connection to be established (milliseconds). */
const connectTimeoutMs = 2_000;
/** Delay before reconnect attempt n: 100 ms more each time, at most 1 s; never gives up. */
const reconnectDelayMs = (attempt: number) => Math.min(attempt * 100, 1_000);

/** Options of every connection to a Redis server, standalone or a cluster node. */
const connectionOptions = {
  // Queued commands are failed after one unsuccessful reconnect instead of waiting for 20.
  maxRetriesPerRequest: 1,
  commandTimeout: commandTimeoutMs,
  connectTimeout: connectTimeoutMs,
  // Commands issued in the same event-loop turn (many requests in flight each checking
  // revocation, say) leave in one write and come back in one read. A write to a socket is a
  // system call that costs more than the command itself, so under load this roughly halves the
  // CPU a Redis round trip costs us and the server.
  enableAutoPipelining: true,
} satisfies RedisOptions;

/**
 * ioredis applies `commandTimeout` only once a node connection takes a command, so commands
 * waiting in the Cluster's own offline queue (every node down, slots being refreshed) would wait
 * for ever: https://github.com/redis/ioredis/issues/1604. Starting the timer when the command is
 * issued gives the cluster the standalone client's bound; the node connection's own
 * `setTimeout` call then finds the timer running and leaves it.
 */
class DeadlineCluster extends Cluster {
  override sendCommand(...args: Parameters<Cluster['sendCommand']>): unknown {
    args[0].setTimeout(commandTimeoutMs);
    return super.sendCommand(...args);
  }
}

/** The seed URLs of REDIS_URL (one for a standalone server, more for a cluster). */
function redisSeeds(url: string): string[] {
  return url
    .split(',')
    .map((seed) => seed.trim())
    .filter((seed) => seed !== '');
}

export function createRedisClient(url: string, onError?: (error: Error) => void): RedisConnection {
  const seeds = redisSeeds(url);
  if (seeds.length === 0) throw new Error('REDIS_URL names no server');
  if (seeds.length === 1) {
    const redis = new Redis(seeds[0] as string, {
      ...connectionOptions,
      lazyConnect: false,
      retryStrategy: reconnectDelayMs,
    });
    if (onError) redis.on('error', onError);
    return redis;
  }

  const { nodes, auth } = clusterSeeds(seeds);
  const cluster = new DeadlineCluster(nodes, {
    lazyConnect: false,
    enableAutoPipelining: true,
    // The cluster as a whole reconnects (to the seeds, then re-reads the slot map) like a
    // standalone client; a single lost node is found again through MOVED and slot refreshes.
    clusterRetryStrategy: reconnectDelayMs,
    redisOptions: { ...connectionOptions, ...auth },
  });
  if (onError) {
    cluster.on('error', onError);
    // Connection problems of one node; without a listener the Cluster drops them silently.
    cluster.on('node error', (error: Error) => onError(error));
  }
  return cluster;
}

/** Startup nodes and the credentials / TLS they share (one cluster has one set of both). */
function clusterSeeds(seeds: string[]): { nodes: ClusterNode[]; auth: Pick<RedisOptions, 'username' | 'password' | 'tls'> } {
  const urls = seeds.map((seed) => new URL(seed));
  const first = urls[0] as URL;
  for (const url of urls) {
    if (url.protocol !== first.protocol || url.username !== first.username || url.password !== first.password) {
      throw new Error('REDIS_URL: every cluster seed must use the same scheme and credentials');
    }
    // Redis Cluster has database 0 only.
    if (url.pathname !== '' && url.pathname !== '/' && url.pathname !== '/0') {
      throw new Error('REDIS_URL: a cluster has database 0 only; drop the /<db> from the seeds');
    }
  }
  const nodes = urls.map((url) => ({
    // URL keeps the brackets of an IPv6 literal; sockets want the bare address.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port || 6379),
  }));
  return {
    nodes,
    auth: {
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  };
}

/**
 * The part of a key Redis Cluster hashes to pick its slot: the text between the first `{` and
 * the next `}` when that is not empty, else the whole key (cluster spec, "Hash tags").
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}
