// Revocation state in Redis: `${prefix}revoked:jti:<jti>` and `${prefix}revoked:<kind>:<id>`
// (the epoch second of the revocation), each with a TTL, read together with one MGET.
import type { Redis } from 'ioredis';
import type { RevocationKind, RevocationStore, TokenIdentity } from './types.js';

// Keeps the later of two revocation times, so a delayed write never shortens a revocation.
const setLaterLua = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = tonumber(ARGV[1])
if at > current then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) else redis.call('EXPIRE', KEYS[1], ARGV[2], 'GT') end
return 1`;

export function createRedisRevocationStore(options: { redis: Redis; keyPrefix?: string }): RevocationStore {
  const { redis } = options;
  const prefix = options.keyPrefix ?? 'portcullis:';
  const key = (kind: RevocationKind | 'jti', id: string) => `${prefix}revoked:${kind}:${id}`;

  return {
    async revokeToken(jti, expiresAt) {
      const ttl = Math.max(1, Math.ceil(expiresAt - Date.now() / 1000));
      await redis.set(key('jti', jti), '1', 'EX', ttl);
    },
    async revokeIssuedBefore(kind, id, at, lifetime) {
      await redis.eval(setLaterLua, 1, key(kind, id), String(at), String(lifetime));
    },
    async isRevoked(token: TokenIdentity) {
      const keys = [key('jti', token.jti)];
      if (token.sub) keys.push(key('sub', token.sub));
      if (token.clientId) keys.push(key('client', token.clientId));
      if (token.grantId) keys.push(key('grant', token.grantId));
      const [listed, ...times] = await redis.mget(...keys);
      return listed !== null || times.some((time) => time !== null && Number(time) >= token.iat);
    },
    async close() {},
  };
}
