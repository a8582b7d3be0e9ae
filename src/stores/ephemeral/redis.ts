// The ephemeral store on Redis, standalone or Cluster (one code path for both). One record is a
// HASH: field `payload` (JSON) and, once consumed, field `consumed` (epoch seconds). Every key
// written here carries a TTL.
//
// Key layout (prefix defaults to `portcullis:`; the hash tag `{…}` picks the cluster slot):
//   ${prefix}${model}:{${id}}              the record
//   ${prefix}uid:${model}:{${uid}}         → id
//   ${prefix}userCode:${model}:{${code}}   → id
//   ${prefix}grant:{${grantId}}            SET of `${model}:${id}`, TTL = longest member's
//   ${prefix}${model}:{replay}:${id}       one-time marker (consumeOnce): '1', TTL = its credential's
//   ${prefix}marker-epoch:{replay}         `${ms}:${run_id}`: when the current marker generation began
//                                          (TTL 14 days, renewed)
// (A prefix with a `{tag}` of its own puts every key in that tag's slot: still correct, not spread.)
//
// Each key is tagged with the one identifier its reader knows: find has the id, findByUid the
// uid, revokeByGrantId the grant id. So records spread evenly over the cluster, and a record,
// its index entries and its grant's index lie in different slots, which no one script may touch
// together (a cluster refuses cross-slot and undeclared keys). Keeping a grant's records under
// the grant's tag would make revokeByGrantId one script, but find (by id alone) would then need a
// pointer key first: a second round trip on every token lookup, the pointer in another slot still.
//
// One-time markers (assertion and DPoP `jti`s) are all under ONE hash tag, `{replay}`, on
// purpose: a marker and the epoch key must share a slot so that one script can read the epoch and
// set the marker atomically. The cost: one node takes every marker write. The state is small (one
// key per assertion, kept for its lifetime: at most CLIENT_ASSERTION_MAX_LIFETIME, 5 min by
// default) and a SET NX is cheap, as for the revocation keys in ../revocations/redis.ts.
//
// Why an epoch: a marker lost with Redis's data (FLUSHALL, a restart without persistence, a
// restore of an older snapshot, a failover to a replica that had not received the latest writes)
// would let its credential be used again until it expires. So the epoch records, in Redis's own
// clock (TIME, so the instances' clocks do not matter), when the markers now kept began, and which
// Redis process (INFO run_id) began them. consumeOnce refuses ('predates-store') a credential
// issued before the epoch: it may have been spent in a generation that is gone. A missing epoch
// (data lost, or a new Redis) or one begun by another process (a restart, a promoted replica:
// they may hold fewer markers than the process that wrote them) starts a new generation, now, in
// the same script: never back-dated. The store starts one when it is created and on every ping
// (readiness), so that after a normal start or a loss it begins before most traffic does; the
// credentials refused are those issued before it (how an `iat` in whole seconds compares with it:
// oidc/assertion-replay.ts). What no epoch can see: markers evicted under memory
// pressure while the epoch stays; hence maxmemory-policy noeviction (../short-lived.ts warns).
//
// Atomic: every script touches exactly one key, passed in KEYS, except the marker script, whose
// two keys share the `{replay}` slot. consume and consumeOnce (the one-time operations) are single
// scripts, and so is each record write, which replaces payload, consumed and TTL in one step.
//
// Not atomic: keeping the indexes in step with the record takes separate steps, so the indexes
// are hints checked against the record. findByUid / findByUserCode answer only a record whose
// payload still holds that uid / userCode; revokeByGrantId deletes only records whose payload
// still names the grant. A stale entry (a crash between steps, a replaced record) never yields a
// wrong answer; the next write or destroy of its record removes it, or it expires. The order of
// the steps keeps the other direction sound:
//   upsert          1. index entries, grant membership   2. the record
//                   3. the old record's entries that changed (only while they point at this id)
//   destroy         1. the record                         2. its entries
//   revokeByGrantId 1. the members   2. each record still of this grant   3. its entries, members
// so a record upsert() wrote is indexed before anyone can read it. Left open: concurrent writes
// of one id that change its uid / userCode / grantId, or destroy and re-create it, can cost the
// live record an index entry (oidc-provider never changes those fields, and its ids are random);
// and a record written into a grant while revokeByGrantId runs may survive it, as one written
// just after would (the adapter marks the grant revoked first, which retires such records too).
import { createHash } from 'node:crypto';
import type { RedisConnection } from '../redis-client.js';
import { grantableModels, maxRecordLifetime, type EphemeralStore, type OneTimeUse, type Payload } from './types.js';

// Lua: the uid, userCode and grantId of a stored payload ('' when absent or not a string).
const indexFieldsLua = `
local function indexFields(raw)
  local ok, payload = pcall(cjson.decode, raw)
  if not ok or type(payload) ~= 'table' then return '', '', '' end
  local function text(value) if type(value) == 'string' then return value end return '' end
  return text(payload.uid), text(payload.userCode), text(payload.grantId)
end
`;

// KEYS[1] record. ARGV: payload JSON, ttl seconds, consumed ('' = not consumed).
// Returns {1, old uid, old userCode, old grantId}.
const writeRecordLua = `${indexFieldsLua}
local old = redis.call('HGET', KEYS[1], 'payload')
local uid, userCode, grantId = '', '', ''
if old then uid, userCode, grantId = indexFields(old) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'payload', ARGV[1])
-- A payload saved after consumption stays consumed: consume() must keep refusing it.
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'consumed', ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1, uid, userCode, grantId}
`;

// KEYS[1] record, ARGV[1] grant id ('' = any). Deletes the record unless it belongs to another
// grant. Returns {0} when nothing was deleted, else {1, uid, userCode, grantId}.
const deleteRecordLua = `${indexFieldsLua}
local raw = redis.call('HGET', KEYS[1], 'payload')
if not raw then return {0} end
local uid, userCode, grantId = indexFields(raw)
if ARGV[1] ~= '' and grantId ~= ARGV[1] then return {0} end
redis.call('DEL', KEYS[1])
return {1, uid, userCode, grantId}
`;

// KEYS[1] record, ARGV[1] epoch seconds. EXISTS first: HSETNX on a missing (or expired) key
// would create it without a TTL.
const consumeLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])
`;

// The current marker generation's start (ms, Redis clock), beginning a new one now when there is
// none or another Redis process began it (see the header). INFO is refused by some managed Redis
// services: then the run_id is '' and only a missing epoch starts a new generation. The epoch
// key has a TTL like every key here (lifetime ms, renewed once half of it has passed): it only
// has to outlive the markers of its generation, which live minutes.
const markerEpochLua = `
local function markerEpoch(key, lifetime)
  local info = redis.pcall('INFO', 'server')
  local runId = ''
  if type(info) == 'string' then runId = string.match(info, 'run_id:(%x+)') or '' end
  local stored = redis.call('GET', key)
  if stored then
    local ms, owner = string.match(stored, '^(%d+):(%x*)$')
    if ms and owner == runId then
      if redis.call('PTTL', key) < lifetime / 2 then redis.call('PEXPIRE', key, lifetime) end
      return tonumber(ms)
    end
  end
  local now = redis.call('TIME')
  local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  redis.call('SET', key, string.format('%d:%s', ms, runId), 'PX', lifetime)
  return ms
end
`;

// KEYS[1] marker epoch, ARGV[1] its lifetime (ms). Returns the epoch (ms).
const ensureEpochLua = `${markerEpochLua}
return markerEpoch(KEYS[1], tonumber(ARGV[1]))
`;

// KEYS[1] marker epoch, KEYS[2] marker (same slot). ARGV[1] the marker's ttl (seconds),
// ARGV[2] when its credential was issued (ms), ARGV[3] the epoch's lifetime (ms).
const consumeOnceLua = `${markerEpochLua}
if tonumber(ARGV[2]) < markerEpoch(KEYS[1], tonumber(ARGV[3])) then return 'predates-store' end
if redis.call('SET', KEYS[2], '1', 'EX', ARGV[1], 'NX') then return 'consumed' end
return 'replayed'
`;

// KEYS[1] grant index, ARGV[1] member, ARGV[2] ttl seconds. The index must outlive its longest
// member, and never be cut short by a shorter one.
const addMemberLua = `
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) * 1000 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

// KEYS[1] uid / userCode index entry, ARGV[1] id. An entry that now points at another record
// (its uid was reused) is left alone.
const removeEntryLua = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type Script = (keys: string | string[], args: (string | number)[]) => Promise<unknown>;

// EVALSHA, falling back to EVAL once when the server does not have the script cached yet
// (first use, restart, SCRIPT FLUSH; in a cluster each node has its own cache); EVAL caches it
// for the next call. Every script here takes one key, or keys of one slot.
function script(redis: RedisConnection, source: string): Script {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (keys, args) => {
    const list = typeof keys === 'string' ? [keys] : keys;
    try {
      return await redis.evalsha(sha, list.length, ...list, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(source, list.length, ...list, ...args);
    }
  };
}

/** The epoch key's lifetime (ms): far longer than any marker's; see markerEpochLua. */
const epochLifetimeMs = maxRecordLifetime * 1000;

const oneTimeUses: ReadonlySet<unknown> = new Set<OneTimeUse>(['consumed', 'replayed', 'predates-store']);

/** Whole seconds, at least 1: Redis EX takes a positive integer, and every record must expire. */
function lifetime(expiresIn: number | undefined): number {
  if (expiresIn === undefined) return maxRecordLifetime;
  if (!Number.isFinite(expiresIn)) throw new RangeError(`expiresIn must be a finite number, got ${expiresIn}`);
  return Math.max(1, Math.ceil(expiresIn));
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** What a record names in the indexes ('' = nothing). */
interface IndexFields {
  uid: string;
  userCode: string;
  grantId: string;
}

/** The {1, uid, userCode, grantId} reply of writeRecordLua / deleteRecordLua, or undefined for {0}. */
function indexFieldsOf(reply: unknown): IndexFields | undefined {
  if (!Array.isArray(reply) || reply[0] !== 1) return undefined;
  return { uid: text(reply[1]), userCode: text(reply[2]), grantId: text(reply[3]) };
}

export function createRedisEphemeralStore(options: { redis: RedisConnection; keyPrefix?: string }): EphemeralStore {
  const { redis } = options;
  const prefix = options.keyPrefix ?? 'portcullis:';
  const recordKey = (model: string, id: string) => `${prefix}${model}:{${id}}`;
  const entryKey = (index: 'uid' | 'userCode', model: string, value: string) => `${prefix}${index}:${model}:{${value}}`;
  const grantKey = (grantId: string) => `${prefix}grant:{${grantId}}`;
  const markerKey = (model: string, id: string) => `${prefix}${model}:{replay}:${id}`;
  const epochKey = `${prefix}marker-epoch:{replay}`;
  // Members are `${model}:${id}`; model names never contain ':'.
  const member = (model: string, id: string) => `${model}:${id}`;

  const writeRecord = script(redis, writeRecordLua);
  const deleteRecord = script(redis, deleteRecordLua);
  const consumeRecord = script(redis, consumeLua);
  const addMember = script(redis, addMemberLua);
  const removeEntry = script(redis, removeEntryLua);
  const ensureEpoch = script(redis, ensureEpochLua);
  const spendMarker = script(redis, consumeOnceLua);

  // A marker generation from the start (see the header). If Redis cannot be reached yet, the
  // next ping or consumeOnce begins it.
  const started = ensureEpoch(epochKey, [epochLifetimeMs]).catch(() => {});

  /** The record's index fields as the store keeps them: grant membership for grantable models only. */
  function fieldsOf(model: string, payload: Payload): IndexFields {
    return {
      uid: text(payload.uid),
      userCode: text(payload.userCode),
      grantId: grantableModels.has(model) ? text(payload.grantId) : '',
    };
  }

  function addEntries(model: string, id: string, fields: IndexFields, ttl: number): Promise<unknown>[] {
    const writes: Promise<unknown>[] = [];
    if (fields.uid) writes.push(redis.set(entryKey('uid', model, fields.uid), id, 'EX', ttl));
    if (fields.userCode) writes.push(redis.set(entryKey('userCode', model, fields.userCode), id, 'EX', ttl));
    if (fields.grantId) writes.push(addMember(grantKey(fields.grantId), [member(model, id), ttl]));
    return writes;
  }

  /** Removes the entries of `old` that `current` (the record now stored, if any) does not share. */
  function removeEntries(model: string, id: string, old: IndexFields, current?: IndexFields): Promise<unknown>[] {
    const removals: Promise<unknown>[] = [];
    if (old.uid && old.uid !== current?.uid) removals.push(removeEntry(entryKey('uid', model, old.uid), [id]));
    if (old.userCode && old.userCode !== current?.userCode) {
      removals.push(removeEntry(entryKey('userCode', model, old.userCode), [id]));
    }
    if (grantableModels.has(model) && old.grantId && old.grantId !== current?.grantId) {
      // Redis deletes a SET once its last member is removed.
      removals.push(redis.srem(grantKey(old.grantId), member(model, id)));
    }
    return removals;
  }

  function write(model: string, id: string, payload: Payload, ttl: number) {
    const consumed = typeof payload.consumed === 'number' && Number.isFinite(payload.consumed) ? payload.consumed : '';
    return writeRecord(recordKey(model, id), [JSON.stringify(payload), ttl, consumed]);
  }

  async function find(model: string, id: string): Promise<Payload | undefined> {
    // HGETALL answers {} (not null) for a missing key.
    const hash = await redis.hgetall(recordKey(model, id));
    if (hash.payload === undefined) return undefined;
    const payload = JSON.parse(hash.payload) as Payload;
    if (hash.consumed !== undefined) payload.consumed = Number(hash.consumed);
    return payload;
  }

  async function findByIndex(model: string, index: 'uid' | 'userCode', value: string) {
    const id = await redis.get(entryKey(index, model, value));
    if (id === null) return undefined;
    const payload = await find(model, id);
    // The entry may be stale (the record replaced or re-created); never answer for another value.
    return payload?.[index] === value ? payload : undefined;
  }

  return {
    kind: 'redis',
    async upsert(model, id, payload, expiresIn) {
      const ttl = lifetime(expiresIn);
      const fields = fieldsOf(model, payload);
      await Promise.all(addEntries(model, id, fields, ttl));
      const old = indexFieldsOf(await write(model, id, payload, ttl));
      if (old) await Promise.all(removeEntries(model, id, old, fields));
    },
    find,
    findByUid: (model, uid) => findByIndex(model, 'uid', uid),
    findByUserCode: (model, userCode) => findByIndex(model, 'userCode', userCode),
    async consume(model, id) {
      const now = Math.floor(Date.now() / 1000);
      return (await consumeRecord(recordKey(model, id), [now])) === 1;
    },
    async destroy(model, id) {
      const old = indexFieldsOf(await deleteRecord(recordKey(model, id), ['']));
      if (old) await Promise.all(removeEntries(model, id, old));
    },
    async revokeByGrantId(grantId) {
      const members = await redis.smembers(grantKey(grantId));
      const removed = await Promise.all(
        members.map(async (entry) => {
          const sep = entry.indexOf(':');
          const [model, id] = [entry.slice(0, sep), entry.slice(sep + 1)];
          const old = indexFieldsOf(await deleteRecord(recordKey(model, id), [grantId]));
          if (!old) return undefined; // gone already, or no longer this grant's: not ours to delete
          await Promise.all(removeEntries(model, id, { ...old, grantId: '' }));
          return entry;
        }),
      );
      // Only the members whose records went: one joining the grant right now stays indexed.
      const done = removed.filter((entry) => entry !== undefined);
      if (done.length > 0) await redis.srem(grantKey(grantId), ...done);
    },
    async consumeOnce(model, id, expiresIn, issuedAtMs) {
      if (!Number.isFinite(issuedAtMs)) throw new RangeError(`issuedAtMs must be a finite number, got ${issuedAtMs}`);
      const reply = await spendMarker([epochKey, markerKey(model, id)], [lifetime(expiresIn), Math.floor(issuedAtMs), epochLifetimeMs]);
      if (!oneTimeUses.has(reply)) throw new Error(`unexpected reply from the marker script: ${String(reply)}`);
      return reply as OneTimeUse;
    },
    async ping() {
      // Also a round trip: it answers only when Redis does.
      await ensureEpoch(epochKey, [epochLifetimeMs]);
    },
    // The caller owns the client (openEphemeralStore quits the one it created); the first epoch
    // write is let finish so that it is not cut off.
    async close() {
      await started;
    },
  };
}
