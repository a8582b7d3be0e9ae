// Revocation state in Redis, standalone or Cluster:
//   ${prefix}{revoked}:jti:<jti>     listed until the token's exp (EXAT)
//   ${prefix}{revoked}:<kind>:<id>   the time of the latest revocation in ms since the epoch
//                                    (epoch seconds when written before migration 009: see
//                                    revokedAtMs), TTL = lifetime
// read together with one MGET, so a check is one command and one round trip, however many
// tokens it was exchanged from.
//
// Every key carries the one hash tag `{revoked}`, so all revocation state lives in one cluster
// slot: an MGET may not span slots, and the alternative (one GET per key, each to its own
// node) costs up to four commands per check instead of one. One slot is affordable because the
// state is small: one short key per explicitly revoked token until its exp, and one per revoked
// subject, client or grant. Its cost is that every check lands on that slot's node (and its
// replicas); an MGET of a few keys is among the cheapest things Redis does.
import { hashTagOf, type RedisConnection } from '../redis-client.js';
import { lineageOf, revokedAtMs, secondsBelow, type RevocationKind, type RevocationStore, type TokenIdentity } from './types.js';

// KEYS[1], ARGV[1] exp (epoch seconds). Lists the jti until exp, and never shortens a listing.
// EXAT in the past stores nothing: the token is dead anyway.
const listUntilLua = `
if not redis.call('SET', KEYS[1], '1', 'EXAT', ARGV[1], 'NX') then
  if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIREAT', KEYS[1], ARGV[1], 'GT') end
end
return 1`;

// KEYS[1], ARGV[1] revocation time (ms), ARGV[2] lifetime (seconds). Keeps the later of two
// revocation times and the longer of two lifetimes, so a delayed write never weakens a mark. A
// value in seconds (before migration 009) is compared as its second's last millisecond.
const setLaterLua = `
local function ms(value)
  value = tonumber(value)
  if value < ${secondsBelow} then return value * 1000 + 999 end
  return value
end
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
if ms(ARGV[1]) > ms(current) then redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) * 1000 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1`;

export function createRedisRevocationStore(options: { redis: RedisConnection; keyPrefix?: string }): RevocationStore {
  const { redis } = options;
  const prefix = options.keyPrefix ?? 'portcullis:';
  const key = (kind: RevocationKind | 'jti', id: string) => `${prefix}{revoked}:${kind}:${id}`;
  // A prefix with a hash tag of its own moves every key into that tag's slot, which is fine;
  // one with an empty tag (`{}`) would make Redis hash whole keys and scatter them.
  if (hashTagOf(key('jti', 'a')) !== hashTagOf(key('sub', 'b'))) {
    throw new Error(`Redis key prefix "${prefix}" would scatter the revocation keys over the cluster slots`);
  }

  return {
    async revokeToken(jti, expiresAt) {
      await redis.eval(listUntilLua, 1, key('jti', jti), String(Math.ceil(expiresAt)));
    },
    async revokeIssuedBefore(kind, id, at, lifetime) {
      await redis.eval(setLaterLua, 1, key(kind, id), String(Math.floor(at)), String(Math.max(1, Math.ceil(lifetime))));
    },
    async isRevoked(token: TokenIdentity) {
      const { jtis, clientIds } = lineageOf(token);
      const marks: string[] = [];
      if (token.sub) marks.push(key('sub', token.sub));
      for (const clientId of clientIds) marks.push(key('client', clientId));
      if (token.grantId) marks.push(key('grant', token.grantId));
      const values = await redis.mget(...jtis.map((jti) => key('jti', jti)), ...marks);
      if (values.slice(0, jtis.length).some((listed) => listed !== null)) return true;
      return values.slice(jtis.length).some((time) => time !== null && revokedAtMs(Number(time)) >= token.issuedAt);
    },
    async close() {},
  };
}
