// Redis's copy of the revocation record (record.ts), standalone or Cluster, for checks in one
// round trip. Postgres holds the record; this copy is only trusted while it says how complete
// it is (a flushed or replaced Redis must never revive a revoked token):
//   ${prefix}{revoked}:jti:<jti>          listed until the token's exp (EXAT)
//   ${prefix}{revoked}:<kind>:<id>        the time of the latest revocation in ms since the epoch
//                                         (epoch seconds when written before migration 009: see
//                                         revokedAtMs), TTL = what is left of its lifetime
//   ${prefix}{revoked}:complete-up-to     the record's sequence number up to which every mark is
//                                         here; no TTL. Missing: this Redis lost the copy (or never
//                                         had it), so nothing it says can be trusted.
//   ${prefix}{revoked}:rebuild:<nonce>    a rebuild under way (rebuild proves nothing was lost
//                                         while it ran: it finishes only if this key survived)
// A check reads its marks and the completeness mark together with one MGET, so it is one
// command and one round trip however many tokens it was exchanged from, and it can never read
// marks of one Redis and the completeness of another.
//
// Every key carries the one hash tag `{revoked}`, so all revocation state lives in one cluster
// slot: an MGET may not span slots, and neither may the scripts below, which write marks and
// the completeness mark atomically. One slot is affordable because the state is small: one
// short key per explicitly revoked token until its exp, and one per revoked subject, client or
// grant. Its cost is that every check lands on that slot's node (and its replicas); an MGET of
// a few keys is among the cheapest things Redis does.
import crypto from 'node:crypto';
import { hashTagOf, type RedisConnection } from '../redis-client.js';
import type { RevocationMark } from './record.js';
import { lineageOf, revokedAtMs, secondsBelow, type RevocationKind, type TokenIdentity } from './types.js';

// Applies ARGV marks from ARGV[3] on, three values each (for KEYS[i + 2]): 'jti' and its exp in
// epoch seconds; or 'mark', the revocation time (ms) and the seconds it has left. A jti listing is
// never shortened; a mark keeps the later of two times and the longer of two lifetimes, so a
// delayed or repeated copy never weakens one. A value in seconds (before migration 009) is
// compared as its second's last millisecond.
const applyMarksLua = `
local function ms(value)
  value = tonumber(value)
  if value < ${secondsBelow} then return value * 1000 + 999 end
  return value
end
local function apply(key, type, value, extra)
  if type == 'jti' then
    if not redis.call('SET', key, '1', 'EXAT', value, 'NX') then
      redis.call('EXPIREAT', key, value, 'GT')
    end
    return
  end
  local current = redis.call('GET', key)
  if not current then
    redis.call('SET', key, value, 'EX', extra)
    return
  end
  if ms(value) > ms(current) then redis.call('SET', key, value, 'KEEPTTL') end
  if redis.call('PTTL', key) < tonumber(extra) * 1000 then redis.call('EXPIRE', key, extra) end
end
for i = 3, #KEYS do
  local at = (i - 3) * 3 + 3
  apply(KEYS[i], ARGV[at], ARGV[at + 1], ARGV[at + 2])
end
`;

// KEYS[1] completeness, KEYS[2] unused here, KEYS[3..] marks; ARGV[1] the sequence the copy
// was complete up to when these marks were read, ARGV[2] the one they bring it to. Advances
// the completeness only if the copy is still complete up to ARGV[1]: if Redis lost it (or was
// swapped for an older copy) meanwhile, the marks are written but the copy stays incomplete.
const extendLua = `${applyMarksLua}
local current = redis.call('GET', KEYS[1])
if not current or tonumber(current) < tonumber(ARGV[1]) then return 0 end
if tonumber(current) < tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[2]) end
return 1`;

// KEYS[1] completeness, KEYS[2] the rebuild's key, KEYS[3..] marks; ARGV[1] '' or 'finish',
// ARGV[2] the sequence the finished rebuild is complete up to. Refuses (0) once the rebuild's
// key is gone: what it wrote before may have been lost with it.
const rebuildLua = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
${applyMarksLua}
if ARGV[1] == 'finish' then
  local current = redis.call('GET', KEYS[1])
  if not current or tonumber(current) < tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[2]) end
  redis.call('DEL', KEYS[2])
end
return 1`;

/** Longest a rebuild may take before its key expires and it has to start again. */
const rebuildTimeoutSeconds = 15 * 60;

export interface RevocationCheck {
  revoked: boolean;
  /** The sequence number up to which the copy is complete; undefined: Redis has no copy. */
  completeUpTo: number | undefined;
}

export interface RedisRevocationCopy {
  /** What the copy says of this token, and how complete it is: one MGET. */
  check(token: TokenIdentity): Promise<RevocationCheck>;
  completeUpTo(): Promise<number | undefined>;
  /**
   * Copies marks recorded after `from` and marks the copy complete up to `through`, unless the
   * copy is no longer complete up to `from` (then false: it must be rebuilt or caught up again).
   */
  extend(marks: readonly RevocationMark[], from: number, through: number): Promise<boolean>;
  /** Drops the completeness mark: the copy is not to be trusted until rebuilt. */
  forget(): Promise<void>;
  /** Starts a rebuild; the handle goes to copyForRebuild and finishRebuild. */
  beginRebuild(): Promise<string>;
  /** False when Redis lost the rebuild meanwhile. */
  copyForRebuild(rebuild: string, marks: readonly RevocationMark[]): Promise<boolean>;
  /** Marks the copy complete up to `through`; false when Redis lost the rebuild meanwhile. */
  finishRebuild(rebuild: string, through: number): Promise<boolean>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function markArguments(mark: RevocationMark): string[] {
  if (mark.kind === 'jti') return ['jti', String(Math.ceil(mark.expiresAt)), ''];
  return ['mark', String(Math.floor(mark.revokedAt)), String(Math.max(1, Math.ceil(mark.expiresAt - nowSeconds())))];
}

export function createRedisRevocationCopy(options: { redis: RedisConnection; keyPrefix?: string }): RedisRevocationCopy {
  const { redis } = options;
  const prefix = options.keyPrefix ?? 'portcullis:';
  const key = (kind: RevocationKind | 'jti', id: string) => `${prefix}{revoked}:${kind}:${id}`;
  const completenessKey = `${prefix}{revoked}:complete-up-to`;
  const rebuildKey = (nonce: string) => `${prefix}{revoked}:rebuild:${nonce}`;
  // A prefix with a hash tag of its own moves every key into that tag's slot, which is fine;
  // one with an empty tag (`{}`) would make Redis hash whole keys and scatter them.
  if (hashTagOf(key('jti', 'a')) !== hashTagOf(completenessKey)) {
    throw new Error(`Redis key prefix "${prefix}" would scatter the revocation keys over the cluster slots`);
  }
  const readSeq = (value: string | null | undefined) => (value === null || value === undefined ? undefined : Number(value));

  const run = async (script: string, second: string, marks: readonly RevocationMark[], args: string[]) => {
    const keys = [completenessKey, second, ...marks.map((mark) => (mark.kind === 'jti' ? key('jti', mark.id) : key(mark.kind, mark.id)))];
    return (await redis.eval(script, keys.length, ...keys, ...args, ...marks.flatMap(markArguments))) === 1;
  };

  return {
    async check(token) {
      const { jtis, clientIds } = lineageOf(token);
      const marks: string[] = [];
      if (token.sub) marks.push(key('sub', token.sub));
      for (const clientId of clientIds) marks.push(key('client', clientId));
      if (token.grantId) marks.push(key('grant', token.grantId));
      const [complete, ...values] = await redis.mget(completenessKey, ...jtis.map((jti) => key('jti', jti)), ...marks);
      const revoked =
        values.slice(0, jtis.length).some((listed) => listed !== null) ||
        values.slice(jtis.length).some((time) => time !== null && revokedAtMs(Number(time)) >= token.issuedAt);
      return { revoked, completeUpTo: readSeq(complete) };
    },
    async completeUpTo() {
      return readSeq(await redis.get(completenessKey));
    },
    extend(marks, from, through) {
      // The second key is only there so every script has the same key layout.
      return run(extendLua, completenessKey, marks, [String(from), String(through)]);
    },
    async forget() {
      await redis.del(completenessKey);
    },
    async beginRebuild() {
      const nonce = crypto.randomUUID();
      await redis.set(rebuildKey(nonce), '1', 'EX', rebuildTimeoutSeconds);
      return nonce;
    },
    copyForRebuild(rebuild, marks) {
      return run(rebuildLua, rebuildKey(rebuild), marks, ['', '0']);
    },
    finishRebuild(rebuild, through) {
      return run(rebuildLua, rebuildKey(rebuild), [], ['finish', String(through)]);
    },
  };
}
