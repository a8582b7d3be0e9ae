// The ephemeral store on Redis. One record is a HASH: field `payload` (JSON) and, once consumed,
// field `consumed` (epoch seconds). Every key written here carries a TTL, and every multi-key
// change runs as one Lua script, so a crash or a concurrent writer never leaves half an update.
//
// Key layout (prefix defaults to `portcullis:`):
//   ${prefix}${model}:${id}              the record
//   ${prefix}grant:${grantId}            SET of `${model}:${id}` members, TTL = longest member's
//   ${prefix}uid:${model}:${uid}         → id
//   ${prefix}userCode:${model}:${code}   → id
//
// The scripts derive index keys from the stored payload, so this needs a standalone Redis (or
// a primary behind Sentinel), not Redis Cluster.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { grantableModels, maxRecordLifetime, type EphemeralStore, type Payload } from './types.js';

// Removes a record and the index entries that still point at it. An index entry that now
// points at another record (its uid was reused) is left alone.
const removeRecordLua = `
local function removeRecord(prefix, model, id)
  local key = prefix .. model .. ':' .. id
  local raw = redis.call('HGET', key, 'payload')
  if raw then
    local ok, old = pcall(cjson.decode, raw)
    if ok and type(old) == 'table' then
      if type(old.uid) == 'string' then
        local uidKey = prefix .. 'uid:' .. model .. ':' .. old.uid
        if redis.call('GET', uidKey) == id then redis.call('DEL', uidKey) end
      end
      if type(old.userCode) == 'string' then
        local codeKey = prefix .. 'userCode:' .. model .. ':' .. old.userCode
        if redis.call('GET', codeKey) == id then redis.call('DEL', codeKey) end
      end
      if type(old.grantId) == 'string' then
        -- Redis deletes a SET once its last member is removed.
        redis.call('SREM', prefix .. 'grant:' .. old.grantId, model .. ':' .. id)
      end
    end
  end
  redis.call('DEL', key)
end
`;

// ARGV: prefix, model, id, payload JSON, ttl seconds, uid, userCode, grantId, consumed, onlyIfAbsent
// ('' = not set). Returns 1 when written, 0 when onlyIfAbsent and the record exists.
const writeLua = `${removeRecordLua}
local prefix, model, id, payload, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local uid, userCode, grantId, consumed = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local key = prefix .. model .. ':' .. id
if ARGV[10] == '1' and redis.call('EXISTS', key) == 1 then return 0 end
removeRecord(prefix, model, id)
redis.call('HSET', key, 'payload', payload)
-- A payload saved after consumption stays consumed: consume() must keep refusing it.
if consumed ~= '' then redis.call('HSET', key, 'consumed', consumed) end
redis.call('EXPIRE', key, ttl)
if uid ~= '' then redis.call('SET', prefix .. 'uid:' .. model .. ':' .. uid, id, 'EX', ttl) end
if userCode ~= '' then redis.call('SET', prefix .. 'userCode:' .. model .. ':' .. userCode, id, 'EX', ttl) end
if grantId ~= '' then
  local grantKey = prefix .. 'grant:' .. grantId
  redis.call('SADD', grantKey, model .. ':' .. id)
  -- The index must outlive its longest member, and never be cut short by a shorter one.
  if redis.call('PTTL', grantKey) < ttl * 1000 then redis.call('EXPIRE', grantKey, ttl) end
end
return 1
`;

// KEYS[1] record, ARGV[1] epoch seconds. EXISTS first: HSETNX on a missing (or expired) key
// would create it without a TTL.
const consumeLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])
`;

const destroyLua = `${removeRecordLua}
removeRecord(ARGV[1], ARGV[2], ARGV[3])
`;

// ARGV: prefix, grantId. Members are `${model}:${id}`; model names never contain ':'.
const revokeLua = `${removeRecordLua}
local grantKey = ARGV[1] .. 'grant:' .. ARGV[2]
for _, member in ipairs(redis.call('SMEMBERS', grantKey)) do
  local sep = string.find(member, ':', 1, true)
  removeRecord(ARGV[1], string.sub(member, 1, sep - 1), string.sub(member, sep + 1))
end
redis.call('DEL', grantKey)
`;

type Script = (keys: string[], args: (string | number)[]) => Promise<unknown>;

// EVALSHA, falling back to EVAL once when the server does not have the script cached yet
// (first use, restart, SCRIPT FLUSH); EVAL caches it for the next call.
function script(redis: Redis, source: string): Script {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}

/** Whole seconds, at least 1: Redis EX takes a positive integer, and every record must expire. */
function lifetime(expiresIn: number | undefined): number {
  if (expiresIn === undefined) return maxRecordLifetime;
  if (!Number.isFinite(expiresIn)) throw new RangeError(`expiresIn must be a finite number, got ${expiresIn}`);
  return Math.max(1, Math.ceil(expiresIn));
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function createRedisEphemeralStore(options: { redis: Redis; keyPrefix?: string }): EphemeralStore {
  const { redis } = options;
  const prefix = options.keyPrefix ?? 'portcullis:';
  const write = script(redis, writeLua);
  const consumeScript = script(redis, consumeLua);
  const destroyScript = script(redis, destroyLua);
  const revokeScript = script(redis, revokeLua);

  function save(model: string, id: string, payload: Payload, expiresIn: number | undefined, onlyIfAbsent: boolean) {
    const consumed = typeof payload.consumed === 'number' && Number.isFinite(payload.consumed) ? payload.consumed : '';
    return write(
      [],
      [
        prefix,
        model,
        id,
        JSON.stringify(payload),
        lifetime(expiresIn),
        text(payload.uid),
        text(payload.userCode),
        grantableModels.has(model) ? text(payload.grantId) : '',
        consumed,
        onlyIfAbsent ? '1' : '0',
      ],
    );
  }

  async function find(model: string, id: string): Promise<Payload | undefined> {
    // HGETALL answers {} (not null) for a missing key.
    const hash = await redis.hgetall(`${prefix}${model}:${id}`);
    if (hash.payload === undefined) return undefined;
    const payload = JSON.parse(hash.payload) as Payload;
    if (hash.consumed !== undefined) payload.consumed = Number(hash.consumed);
    return payload;
  }

  async function findByIndex(model: string, index: 'uid' | 'userCode', value: string) {
    const id = await redis.get(`${prefix}${index}:${model}:${value}`);
    if (id === null) return undefined;
    const payload = await find(model, id);
    // The record may have been replaced between the two reads; never answer for another uid.
    return payload?.[index] === value ? payload : undefined;
  }

  return {
    kind: 'redis',
    async upsert(model, id, payload, expiresIn) {
      await save(model, id, payload, expiresIn, false);
    },
    find,
    findByUid: (model, uid) => findByIndex(model, 'uid', uid),
    findByUserCode: (model, userCode) => findByIndex(model, 'userCode', userCode),
    async consume(model, id) {
      const now = Math.floor(Date.now() / 1000);
      return (await consumeScript([`${prefix}${model}:${id}`], [now])) === 1;
    },
    async destroy(model, id) {
      await destroyScript([], [prefix, model, id]);
    },
    async revokeByGrantId(grantId) {
      await revokeScript([], [prefix, grantId]);
    },
    async insertIfAbsent(model, id, payload, expiresIn) {
      return (await save(model, id, payload, expiresIn, true)) === 1;
    },
    async ping() {
      await redis.ping();
    },
    // The caller owns the client (openEphemeralStore quits the one it created).
    async close() {},
  };
}
