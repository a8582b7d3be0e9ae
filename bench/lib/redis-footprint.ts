// Redis bytes per thing, from MEMORY USAGE (SAMPLES 0: exact) on sampled keys under the run's
// prefix. Key classes follow src/stores/ephemeral/redis.ts and src/stores/revocations/redis.ts:
// `${model}:${id}` records, `uid:${model}:${uid}` and `grant:${grantId}` indexes, and
// `revoked:${kind}:${id}` marks.
import { Redis } from 'ioredis';
import { scanKeys } from './stores.js';

export interface KeyClass {
  keys: number;
  sampled: number;
  meanBytes: number;
  /** grant:* sets: mean members. */
  meanMembers?: number;
  /** RefreshToken / AuthorizationCode records: share of sampled ones already consumed. */
  consumedShare?: number;
}

export interface RedisFootprint {
  classes: Record<string, KeyClass>;
  /** Session record + its uid index. */
  bytesPerSession: number | undefined;
  /** RefreshToken record + its member entry in the grant index. */
  bytesPerRefreshToken: number | undefined;
  bytesPerRevokedJti: number | undefined;
  /** The grant (consent) record one login creates, besides its session. */
  bytesPerGrant: number | undefined;
  bytesPerReplayMarker: number | undefined;
}

// `Session:{id}` and `Session:id` are both "Session"; `uid:Session:{uid}` is "uid:Session";
// `{revoked}:jti:x` and `revoked:jti:x` are "revoked:jti"; `grant:{id}` is "grant".
function classOf(key: string, prefix: string): string {
  const parts = key.slice(prefix.length).split(':').map((part) => part.replace(/[{}]/g, ''));
  if (parts[0] === 'uid' || parts[0] === 'userCode' || parts[0] === 'revoked') return `${parts[0]}:${parts[1]}`;
  return parts[0]!;
}

export async function measureRedisFootprint(redisUrl: string, prefix: string, samplesPerClass = 300): Promise<RedisFootprint> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    const byClass = new Map<string, string[]>();
    for (const key of await scanKeys(redis, prefix)) {
      const name = classOf(key, prefix);
      let list = byClass.get(name);
      if (!list) byClass.set(name, (list = []));
      list.push(key);
    }
    const classes: Record<string, KeyClass> = {};
    for (const [name, keys] of [...byClass].sort()) {
      const sample = keys.slice(0, samplesPerClass);
      const pipeline = redis.pipeline();
      for (const key of sample) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
      const sizes = ((await pipeline.exec()) ?? []).map(([, value]) => Number(value ?? 0)).filter((value) => value > 0);
      const entry: KeyClass = {
        keys: keys.length,
        sampled: sizes.length,
        meanBytes: sizes.length ? sizes.reduce((sum, value) => sum + value, 0) / sizes.length : 0,
      };
      if (name === 'grant') {
        const cards = redis.pipeline();
        for (const key of sample) cards.scard(key);
        const members = ((await cards.exec()) ?? []).map(([, value]) => Number(value ?? 0));
        entry.meanMembers = members.reduce((sum, value) => sum + value, 0) / Math.max(1, members.length);
      }
      if (name === 'RefreshToken' || name === 'AuthorizationCode') {
        const consumed = redis.pipeline();
        for (const key of sample) consumed.hexists(key, 'consumed');
        const flags = ((await consumed.exec()) ?? []).map(([, value]) => Number(value ?? 0));
        entry.consumedShare = flags.reduce((sum, value) => sum + value, 0) / Math.max(1, flags.length);
      }
      classes[name] = entry;
    }
    const mean = (name: string) => (classes[name]?.sampled ? classes[name].meanBytes : undefined);
    const grantIndex = classes.grant;
    // A refresh token adds one member to its grant's SET: its share of that set.
    const memberShare = grantIndex?.meanMembers ? grantIndex.meanBytes / grantIndex.meanMembers : 0;
    const session = mean('Session');
    const refresh = mean('RefreshToken');
    return {
      classes,
      bytesPerSession: session === undefined ? undefined : session + (mean('uid:Session') ?? 0),
      bytesPerRefreshToken: refresh === undefined ? undefined : refresh + memberShare,
      bytesPerRevokedJti: mean('revoked:jti'),
      bytesPerGrant: mean('Grant'),
      bytesPerReplayMarker: mean('ReplayDetection'),
    };
  } finally {
    redis.disconnect();
  }
}
