// One contract for every EphemeralStore, run against real servers: the Postgres store on PGlite
// (always) and on Postgres (DATABASE_URL), the Redis store on Redis and on a 3-master Redis Cluster
// the suite starts itself (both when REDIS_URL is set, as CI's Postgres + Redis run does). Each
// backend then adds checks of its own storage (Redis key TTLs, index keys and cluster slots,
// Postgres rows and purge).
// Reference semantics: oidc-provider's memory adapter and its tests.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { openDatabase, type Database } from '../../src/stores/database.js';
import { openShortLivedStores } from '../../src/stores/short-lived.js';
import { createPostgresEphemeralStore, purgeExpired } from '../../src/stores/ephemeral/postgres.js';
import { createRedisEphemeralStore } from '../../src/stores/ephemeral/redis.js';
import { grantableModels, type EphemeralStore, type Payload } from '../../src/stores/ephemeral/types.js';
import { migrate } from '../../src/stores/migrate.js';
import { createRedisClient, type RedisConnection } from '../../src/stores/redis-client.js';
import {
  clusterErrorCounts,
  keySlot,
  scanClusterKeys,
  startRedisCluster,
  type RedisClusterHandle,
} from '../helpers/redis-cluster.js';
import {
  createPgliteDatabase,
  createPostgresDatabase,
  deleteRedisKeys,
  scanRedisKeys,
  startTcpProxy,
  uniqueRedisPrefix,
} from '../helpers/stores.js';

interface Harness {
  store: EphemeralStore;
  close(): Promise<void>;
}

const hour = 3600;
const id = () => randomUUID();
const epochNow = () => Math.floor(Date.now() / 1000);

function runEphemeralStoreContract<H extends Harness>(
  name: string,
  makeStore: () => Promise<H>,
  backendChecks?: (harness: () => H) => void,
) {
  describe(`ephemeral store contract: ${name}`, () => {
    let harness: H | undefined;
    const current = () => harness ?? assert.fail('store not opened');
    const store = () => current().store;
    before(async () => {
      harness = await makeStore();
    });
    after(async () => {
      await harness?.close();
    });

    it('answers undefined / false for records that do not exist', async () => {
      assert.equal(await store().find('AccessToken', id()), undefined);
      assert.equal(await store().findByUid('Session', id()), undefined);
      assert.equal(await store().findByUserCode('DeviceCode', id()), undefined);
      await store().destroy('AccessToken', id());
      await store().revokeByGrantId(id());
      await store().ping();
    });

    it('round-trips payloads exactly', async () => {
      const payload: Payload = {
        accountId: 'sub-1',
        nested: { deep: { list: [1, 'two', { three: 3 }, null, true, []] } },
        unicode: 'Grüße, 世界 🌍 \u2028 "quoted" \\ back',
        numbers: { int: 42, negative: -7, float: 3.14159, max: Number.MAX_SAFE_INTEGER, tiny: 1e-7, zero: 0 },
        empty: { object: {}, array: [], string: '' },
        flag: false,
        nothing: null,
      };
      const key = id();
      await store().upsert('AccessToken', key, payload, hour);
      assert.deepEqual(await store().find('AccessToken', key), payload);
      // Records are per model.
      assert.equal(await store().find('RefreshToken', key), undefined);
    });

    it('finds records by uid and by userCode', async () => {
      const [session, device, uid, userCode] = [id(), id(), id(), id()];
      await store().upsert('Session', session, { uid, accountId: 'a' }, hour);
      await store().upsert('DeviceCode', device, { userCode, grantId: id() }, hour);
      assert.deepEqual(await store().findByUid('Session', uid), { uid, accountId: 'a' });
      assert.equal((await store().findByUserCode('DeviceCode', userCode))?.userCode, userCode);
      assert.equal(await store().findByUid('Interaction', uid), undefined);
    });

    it('upsert replaces the record and its indexes', async () => {
      const [session, oldUid, newUid] = [id(), id(), id()];
      await store().upsert('Session', session, { uid: oldUid, v: 1 }, hour);
      await store().upsert('Session', session, { uid: newUid, v: 2 }, hour);
      assert.deepEqual(await store().find('Session', session), { uid: newUid, v: 2 });
      assert.equal(await store().findByUid('Session', oldUid), undefined);
      assert.deepEqual(await store().findByUid('Session', newUid), { uid: newUid, v: 2 });

      const [device, oldCode, newCode, oldGrant, newGrant] = [id(), id(), id(), id(), id()];
      await store().upsert('DeviceCode', device, { userCode: oldCode, grantId: oldGrant }, hour);
      await store().upsert('DeviceCode', device, { userCode: newCode, grantId: newGrant }, hour);
      assert.equal(await store().findByUserCode('DeviceCode', oldCode), undefined);
      await store().revokeByGrantId(oldGrant);
      assert.ok(await store().find('DeviceCode', device), 'no longer a member of its old grant');
      await store().revokeByGrantId(newGrant);
      assert.equal(await store().find('DeviceCode', device), undefined);

      // Replacing a consumed record starts it afresh, as the memory adapter does.
      const code = id();
      await store().upsert('AuthorizationCode', code, { v: 1 }, hour);
      assert.equal(await store().consume('AuthorizationCode', code), true);
      await store().upsert('AuthorizationCode', code, { v: 2 }, hour);
      assert.deepEqual(await store().find('AuthorizationCode', code), { v: 2 });
    });

    it('destroy removes the record and its uid, userCode and grant index entries', async () => {
      const [session, uid, device, userCode, grantId, token] = [id(), id(), id(), id(), id(), id()];
      await store().upsert('Session', session, { uid }, hour);
      await store().upsert('DeviceCode', device, { userCode, grantId }, hour);
      await store().upsert('AccessToken', token, { grantId }, hour);
      await store().destroy('Session', session);
      await store().destroy('DeviceCode', device);
      assert.equal(await store().find('Session', session), undefined);
      assert.equal(await store().findByUid('Session', uid), undefined);
      assert.equal(await store().find('DeviceCode', device), undefined);
      assert.equal(await store().findByUserCode('DeviceCode', userCode), undefined);

      // Re-created under another grant: revoking the old grant must not reach it.
      await store().upsert('DeviceCode', device, { userCode, grantId: id() }, hour);
      await store().revokeByGrantId(grantId);
      assert.equal(await store().find('AccessToken', token), undefined, 'the remaining member is still indexed');
      assert.ok(await store().find('DeviceCode', device), 'destroy took it out of the grant index');
    });

    it('revokeByGrantId removes every grantable record of the grant, and nothing else', async () => {
      const [grantId, otherGrant] = [id(), id()];
      const userCode = id();
      const members = [...grantableModels].map((model) => ({ model, key: id() }));
      for (const { model, key } of members) {
        await store().upsert(model, key, { grantId, ...(model === 'DeviceCode' ? { userCode } : {}) }, hour);
      }
      const others = [
        { model: 'AccessToken', key: id(), payload: { grantId: otherGrant } },
        { model: 'RefreshToken', key: id(), payload: { grantId: otherGrant } },
        // Not grantable: carries the grantId but is not the grant's to revoke.
        { model: 'Interaction', key: id(), payload: { grantId } },
        { model: 'Grant', key: grantId, payload: { accountId: 'a' } },
      ];
      for (const { model, key, payload } of others) await store().upsert(model, key, payload, hour);

      await store().revokeByGrantId(grantId);
      for (const { model, key } of members) assert.equal(await store().find(model, key), undefined, model);
      assert.equal(await store().findByUserCode('DeviceCode', userCode), undefined);
      for (const { model, key, payload } of others) assert.deepEqual(await store().find(model, key), payload, model);
    });

    it('consume is atomic: one winner among parallel callers, consumed in epoch seconds', async () => {
      const code = id();
      const payload = { grantId: id(), scope: 'openid' };
      await store().upsert('AuthorizationCode', code, payload, hour);
      const before = epochNow();
      const results = await Promise.all(Array.from({ length: 25 }, () => store().consume('AuthorizationCode', code)));
      assert.equal(results.filter(Boolean).length, 1);
      const found = await store().find('AuthorizationCode', code);
      const { consumed, ...rest } = found ?? assert.fail('record vanished');
      assert.deepEqual(rest, payload);
      assert.ok(typeof consumed === 'number' && Number.isInteger(consumed), `consumed is ${consumed}`);
      assert.ok(Math.abs(consumed - before) <= 5, `consumed ${consumed} is not about now (${before})`);
      assert.equal(await store().consume('AuthorizationCode', code), false);
    });

    it('consume of a missing record is false and does not create it', async () => {
      const code = id();
      assert.equal(await store().consume('AuthorizationCode', code), false);
      assert.equal(await store().find('AuthorizationCode', code), undefined);
    });

    it('a record saved with `consumed` in its payload stays consumed', async () => {
      const token = id();
      await store().upsert('RefreshToken', token, { grantId: id(), consumed: 1_700_000_000 }, hour);
      assert.equal(await store().consume('RefreshToken', token), false);
      assert.equal((await store().find('RefreshToken', token))?.consumed, 1_700_000_000);
    });

    it('consumeOnce spends a marker once: consumed, then replayed; one winner among parallel callers', async () => {
      const now = Date.now();
      const [first, raced] = [id(), id()];
      assert.equal(await store().consumeOnce('ReplayDetection', first, hour, now), 'consumed');
      assert.equal(await store().consumeOnce('ReplayDetection', first, hour, now), 'replayed');
      const results = await Promise.all(Array.from({ length: 25 }, () => store().consumeOnce('ReplayDetection', raced, hour, now)));
      assert.equal(results.filter((result) => result === 'consumed').length, 1);
      assert.equal(results.filter((result) => result === 'replayed').length, 24);
      // Markers are per model.
      assert.equal(await store().consumeOnce('DPoPProof', first, hour, now), 'consumed');
    });

    // The only wait in the suite: every expiry behaviour is set up first, then checked together.
    it('expires records and indexes; a grant index lives as long as its longest member', async () => {
      const [session, uid, device, userCode, code, jti] = [id(), id(), id(), id(), id(), id()];
      await store().upsert('Session', session, { uid }, 1);
      await store().upsert('DeviceCode', device, { userCode }, 1);
      await store().upsert('AuthorizationCode', code, { v: 1 }, 1);
      assert.equal(await store().consumeOnce('ReplayDetection', jti, 1, Date.now()), 'consumed');
      // Long member first, then short; and short first, then long.
      const [longFirst, shortFirst] = [id(), id()];
      const long = { longFirst: id(), shortFirst: id() };
      await store().upsert('AccessToken', long.longFirst, { grantId: longFirst }, hour);
      await store().upsert('RefreshToken', id(), { grantId: longFirst }, 1);
      await store().upsert('RefreshToken', id(), { grantId: shortFirst }, 1);
      await store().upsert('AccessToken', long.shortFirst, { grantId: shortFirst }, hour);

      await sleep(1_300);

      assert.equal(await store().find('Session', session), undefined);
      assert.equal(await store().findByUid('Session', uid), undefined);
      assert.equal(await store().findByUserCode('DeviceCode', userCode), undefined);
      assert.equal(await store().consume('AuthorizationCode', code), false);
      assert.equal(await store().find('AuthorizationCode', code), undefined, 'consume re-created it');
      assert.equal(await store().consumeOnce('ReplayDetection', jti, hour, Date.now()), 'consumed', 'an expired marker is gone');
      assert.equal(await store().consumeOnce('ReplayDetection', jti, hour, Date.now()), 'replayed');
      for (const [grantId, token] of [[longFirst, long.longFirst], [shortFirst, long.shortFirst]] as const) {
        assert.ok(await store().find('AccessToken', token));
        await store().revokeByGrantId(grantId);
        assert.equal(await store().find('AccessToken', token), undefined, 'grant index expired with its short member');
      }
    });

    backendChecks?.(current);
  });
}

// ---- Postgres store: PGlite always, real Postgres when DATABASE_URL is set ----

interface PostgresHarness extends Harness {
  db: Database;
}

function postgresChecks(harness: () => PostgresHarness) {
  const expire = (model: string, key: string) =>
    harness().db.query(
      `UPDATE ephemeral_records SET expires_at = now() - interval '1 second' WHERE model = $1 AND id = $2`,
      [model, key],
    );

  it('hides expired rows at once, takes them over on consumeOnce, and purges them', async () => {
    const { db, store } = harness();
    await purgeExpired(db); // only this test's rows are expired from here on
    const [session, uid, device, userCode, code, jti, live] = [id(), id(), id(), id(), id(), id(), id()];
    await store.upsert('Session', session, { uid }, hour);
    await store.upsert('DeviceCode', device, { userCode }, hour);
    await store.upsert('AuthorizationCode', code, {}, hour);
    await store.upsert('ReplayDetection', jti, { v: 1 }, hour);
    await store.upsert('AccessToken', live, {}, hour);
    await expire('Session', session);
    await expire('DeviceCode', device);
    await expire('AuthorizationCode', code);
    await expire('ReplayDetection', jti);

    assert.equal(await store.find('Session', session), undefined);
    assert.equal(await store.findByUid('Session', uid), undefined);
    assert.equal(await store.findByUserCode('DeviceCode', userCode), undefined);
    assert.equal(await store.consume('AuthorizationCode', code), false);
    assert.equal(await store.consumeOnce('ReplayDetection', jti, hour, Date.now()), 'consumed');
    assert.equal(await store.consumeOnce('ReplayDetection', jti, hour, Date.now()), 'replayed');

    assert.equal(await purgeExpired(db), 3);
    const rows = await db.query<{ id: string }>('SELECT id FROM ephemeral_records WHERE id = ANY($1::text[])', [
      [session, device, code, jti, live],
    ]);
    assert.deepEqual(rows.map((row) => row.id).sort(), [jti, live].sort());
  });

  it('keeps markers durably: consumeOnce never answers predates-store, however old the credential', async () => {
    const { store } = harness();
    const marker = id();
    assert.equal(await store.consumeOnce('ReplayDetection', marker, hour, 0), 'consumed');
    assert.equal(await store.consumeOnce('ReplayDetection', marker, hour, 0), 'replayed');
  });

  it('purges periodically until closed, and close() leaves the database open', async () => {
    const { db } = harness();
    const store = createPostgresEphemeralStore({ db, purgeIntervalMs: 20 });
    const key = id();
    await store.upsert('AccessToken', key, {}, hour);
    await expire('AccessToken', key);
    const count = () => db.query('SELECT 1 FROM ephemeral_records WHERE id = $1', [key]).then((rows) => rows.length);
    for (let tries = 0; tries < 100 && (await count()) > 0; tries++) await sleep(20);
    assert.equal(await count(), 0);
    await store.close();
    await db.query('SELECT 1');
  });
}

async function postgresHarness(db: Database, closeDb: () => Promise<void>): Promise<PostgresHarness> {
  // The purge timer stays out of the way; the purge test drives purgeExpired itself.
  const store = createPostgresEphemeralStore({ db, purgeIntervalMs: 60 * 60 * 1000 });
  return {
    db,
    store,
    async close() {
      await store.close();
      await closeDb();
    },
  };
}

runEphemeralStoreContract(
  'postgres store on PGlite',
  async () => {
    const pglite = await createPgliteDatabase();
    return postgresHarness(pglite.db, pglite.close);
  },
  postgresChecks,
);

if (process.env.DATABASE_URL) {
  runEphemeralStoreContract(
    'postgres store on Postgres',
    async () => {
      const database = await createPostgresDatabase();
      const db = await openDatabase({ databaseUrl: database.url, dataDir: '' });
      await migrate(db);
      return postgresHarness(db, async () => {
        await db.close();
        await database.drop();
      });
    },
    postgresChecks,
  );
}

// ---- Redis store, when REDIS_URL is set: on that server, and on a cluster of our own ----

interface RedisHarness extends Harness {
  redis: RedisConnection;
  prefix: string;
  /** Every key under prefix (on every master, for a cluster). */
  keys(): Promise<string[]>;
}

/** How many of keys exist, asked one key at a time (a cluster refuses EXISTS across slots). */
async function countExisting(redis: RedisConnection, keys: string[]): Promise<number> {
  const counts = await Promise.all(keys.map((key) => redis.exists(key)));
  return counts.reduce((sum, count) => sum + count, 0);
}

/** When the store's current marker generation began (ms, Redis clock), from its epoch key. */
async function markerEpochMs(redis: RedisConnection, prefix: string): Promise<number> {
  const value = (await redis.get(`${prefix}marker-epoch:{replay}`)) ?? assert.fail('no marker epoch');
  return Number(value.split(':')[0]);
}

/** Redis's clock, in ms (the clock the epoch is taken from). */
async function redisTimeMs(redis: RedisConnection): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

function redisChecks(harness: () => RedisHarness) {
  it('keeps a record as a hash of payload and consumed', async () => {
    const { redis, prefix, store } = harness();
    const code = id();
    await store.upsert('AuthorizationCode', code, { v: 1 }, hour);
    await store.consume('AuthorizationCode', code);
    const hash = await redis.hgetall(`${prefix}AuthorizationCode:{${code}}`);
    assert.deepEqual(Object.keys(hash).sort(), ['consumed', 'payload']);
    assert.deepEqual(JSON.parse(hash.payload ?? ''), { v: 1 });
  });

  it('keeps one-time markers under one hash tag with the epoch of their generation, each with a TTL', async () => {
    const { redis, prefix, store } = harness();
    const marker = id();
    assert.equal(await store.consumeOnce('ReplayDetection', marker, 300, Date.now()), 'consumed');
    const key = `${prefix}ReplayDetection:{replay}:${marker}`;
    assert.equal(await redis.get(key), '1');
    const ttl = await redis.pttl(key);
    assert.ok(ttl > 290_000 && ttl <= 300_000, `marker TTL ${ttl} ms`);
    const epoch = await redis.get(`${prefix}marker-epoch:{replay}`);
    assert.match(epoch ?? '', /^\d+:[0-9a-f]{40}$/, 'epoch ms and the run_id of the Redis process that began it');
    assert.ok((await redis.pttl(`${prefix}marker-epoch:{replay}`)) > 7 * 24 * hour * 1000, 'the epoch outlives every marker');
  });

  it('after its markers are lost, refuses every credential issued before the loss and spends fresh ones', async () => {
    const { redis, prefix } = harness();
    // A store of its own (a sub-prefix), so the loss takes only its keys, as FLUSHALL would take all.
    const lossPrefix = `${prefix}loss-${id()}:`;
    const store = createRedisEphemeralStore({ redis, keyPrefix: lossPrefix });
    await store.ping();
    const began = await markerEpochMs(redis, lossPrefix);
    const [spent, unseen] = [id(), id()];
    const issued = began + 1;
    assert.equal(await store.consumeOnce('ReplayDetection', spent, hour, issued), 'consumed');
    assert.equal(await store.consumeOnce('ReplayDetection', spent, hour, issued), 'replayed');
    await sleep(10); // Redis's clock (TIME) moves on: the loss comes after the credentials' issue

    const lost = (await harness().keys()).filter((key) => key.startsWith(lossPrefix));
    assert.equal(lost.length, 2, 'the epoch and the marker');
    await Promise.all(lost.map((key) => redis.del(key)));
    const lossMs = await redisTimeMs(redis);

    assert.equal(await store.consumeOnce('ReplayDetection', spent, hour, issued), 'predates-store', 'the spent one');
    assert.equal(await store.consumeOnce('ReplayDetection', unseen, hour, issued), 'predates-store', 'one never seen: it may have been');
    const renewed = await markerEpochMs(redis, lossPrefix);
    assert.ok(renewed >= lossMs, `the new generation began at the loss's detection (${renewed}), never before it (${lossMs})`);
    const fresh = id();
    assert.equal(await store.consumeOnce('ReplayDetection', fresh, hour, renewed), 'consumed');
    assert.equal(await store.consumeOnce('ReplayDetection', fresh, hour, renewed), 'replayed');
    await store.close();
  });

  it('begins a new generation when its epoch was begun by another Redis process (an older snapshot, a promoted replica)', async () => {
    const { redis, prefix } = harness();
    const otherPrefix = `${prefix}restored-${id()}:`;
    const store = createRedisEphemeralStore({ redis, keyPrefix: otherPrefix });
    await store.ping();
    const began = await markerEpochMs(redis, otherPrefix);
    // What a restored RDB file or a promoted replica holds: an epoch with its writer's run_id,
    // and possibly not the markers written last.
    await redis.set(`${otherPrefix}marker-epoch:{replay}`, `${began}:${'0'.repeat(40)}`, 'EX', hour);
    await sleep(10);
    const restartMs = await redisTimeMs(redis);
    assert.equal(await store.consumeOnce('ReplayDetection', id(), hour, began + 1), 'predates-store');
    const renewed = await markerEpochMs(redis, otherPrefix);
    assert.ok(renewed >= restartMs, `new generation at ${renewed}, detected after ${restartMs}`);
    assert.doesNotMatch((await redis.get(`${otherPrefix}marker-epoch:{replay}`)) ?? '', /:0{40}$/);
    assert.equal(await store.consumeOnce('ReplayDetection', id(), hour, renewed), 'consumed');
    await store.close();
  });

  it('consume of a missing record creates no key', async () => {
    const { redis, prefix, store } = harness();
    const code = id();
    assert.equal(await store.consume('AuthorizationCode', code), false);
    assert.equal(await redis.exists(`${prefix}AuthorizationCode:{${code}}`), 0);
  });

  it('gives a grant index the TTL of its longest member, in either order', async () => {
    const { redis, prefix, store } = harness();
    for (const order of [[hour, 60], [60, hour]]) {
      const grantId = id();
      for (const ttl of order) await store.upsert('AccessToken', id(), { grantId }, ttl);
      assert.ok((await redis.pttl(`${prefix}grant:{${grantId}}`)) > (hour - 5) * 1000, `order ${order.join(', ')}`);
    }
  });

  it('removes index keys once they are empty (destroy, revoke)', async () => {
    const { redis, prefix, store } = harness();
    const [session, uid, device, userCode, grantId] = [id(), id(), id(), id(), id()];
    const keys = [
      `${prefix}uid:Session:{${uid}}`,
      `${prefix}userCode:DeviceCode:{${userCode}}`,
      `${prefix}grant:{${grantId}}`,
    ];
    await store.upsert('Session', session, { uid }, hour);
    await store.upsert('DeviceCode', device, { userCode, grantId }, hour);
    assert.equal(await countExisting(redis, keys), 3);
    await store.destroy('Session', session);
    await store.destroy('DeviceCode', device);
    assert.equal(await countExisting(redis, keys), 0);

    await store.upsert('DeviceCode', device, { userCode, grantId }, hour);
    await store.upsert('RefreshToken', id(), { grantId }, hour);
    await store.revokeByGrantId(grantId);
    assert.equal(await countExisting(redis, keys), 0);
  });

  it('answers only for the record an index entry still matches', async () => {
    // Index entries are hints checked against the record: a stale one (left by a crash between
    // two steps of a write) must never answer for a record that no longer holds the value.
    const { redis, prefix, store } = harness();
    const [session, uid, token, grantId] = [id(), id(), id(), id()];
    await store.upsert('Session', session, { uid: id() }, hour);
    await redis.set(`${prefix}uid:Session:{${uid}}`, session, 'EX', hour);
    assert.equal(await store.findByUid('Session', uid), undefined);

    await store.upsert('AccessToken', token, { grantId: id() }, hour);
    await redis.sadd(`${prefix}grant:{${grantId}}`, `AccessToken:${token}`);
    await redis.expire(`${prefix}grant:{${grantId}}`, hour);
    await store.revokeByGrantId(grantId);
    assert.ok(await store.find('AccessToken', token), 'a stale grant member is not the grant\'s to revoke');
  });

  // Runs last: every key the suite wrote (records, grant, uid and userCode indexes) is still there.
  it('puts a TTL on every key it writes', async () => {
    const { redis, prefix, keys: scan } = harness();
    const keys = await scan();
    for (const kind of ['grant:', 'uid:', 'userCode:', 'AccessToken:', 'AuthorizationCode:', 'ReplayDetection:', 'marker-epoch:']) {
      assert.ok(keys.some((key) => key.startsWith(prefix + kind)), `no ${kind} key to check`);
    }
    for (const key of keys) assert.ok((await redis.pttl(key)) > 0, `${key} has no TTL`);
  });
}

interface ClusterHarness extends RedisHarness {
  redis: Cluster;
  /** Errors the masters had answered when the suite started, by kind. */
  errorsAtStart: Map<string, number>;
}

function clusterChecks(harness: () => ClusterHarness) {
  redisChecks(harness);

  it('puts each key in the slot of the identifier it is found by', async () => {
    const { redis, prefix, store, keys } = harness();
    const [session, uid, device, userCode, grantId, token] = [id(), id(), id(), id(), id(), id()];
    await store.upsert('Session', session, { uid }, hour);
    await store.upsert('DeviceCode', device, { userCode, grantId }, hour);
    await store.upsert('AccessToken', token, { grantId }, hour);
    const expected: [key: string, foundBy: string][] = [
      [`${prefix}Session:{${session}}`, session],
      [`${prefix}uid:Session:{${uid}}`, uid],
      [`${prefix}DeviceCode:{${device}}`, device],
      [`${prefix}userCode:DeviceCode:{${userCode}}`, userCode],
      [`${prefix}AccessToken:{${token}}`, token],
      [`${prefix}grant:{${grantId}}`, grantId],
    ];
    const written = new Set(await keys());
    for (const [key, foundBy] of expected) {
      assert.ok(written.has(key), `${key} was not written`);
      assert.equal(await keySlot(redis, key), await keySlot(redis, foundBy), key);
    }
  });

  it('puts every one-time marker in the slot of its epoch, one slot for all', async () => {
    const { redis, prefix, store } = harness();
    const markers = Array.from({ length: 5 }, () => id());
    for (const marker of markers) assert.equal(await store.consumeOnce('ReplayDetection', marker, hour, Date.now()), 'consumed');
    const slot = await keySlot(redis, 'replay');
    assert.equal(await keySlot(redis, `${prefix}marker-epoch:{replay}`), slot);
    for (const marker of markers) assert.equal(await keySlot(redis, `${prefix}ReplayDetection:{replay}:${marker}`), slot);
  });

  it('spreads records over every master', async () => {
    const { redis, prefix, store } = harness();
    const tokens = Array.from({ length: 30 }, () => id());
    for (const token of tokens) await store.upsert('AccessToken', token, { grantId: id() }, hour);
    const wanted = new Set(tokens.map((token) => `${prefix}AccessToken:{${token}}`));
    const masters = redis.nodes('master');
    assert.equal(masters.length, 3);
    for (const node of masters) {
      const held = (await scanRedisKeys(node, prefix)).filter((key) => wanted.has(key));
      assert.ok(held.length > 0, `master ${node.options.port} holds none of 30 records`);
    }
  });

  // Runs last: the whole suite, as each master saw it.
  it('never sent a command across slots', async () => {
    const { redis, errorsAtStart } = harness();
    const errors = await clusterErrorCounts(redis);
    assert.equal(errors.get('CROSSSLOT') ?? 0, 0, 'CROSSSLOT errors');
    // ERR covers "Script attempted to access a non local key"; NOSCRIPT is the expected first
    // EVALSHA of each script on each node.
    assert.equal(errors.get('ERR') ?? 0, errorsAtStart.get('ERR') ?? 0, 'ERR replies during the suite');
  });
}

if (process.env.REDIS_URL) {
  const redisUrl = process.env.REDIS_URL;

  runEphemeralStoreContract(
    'redis store on Redis',
    async (): Promise<RedisHarness> => {
      const redis = createRedisClient(redisUrl);
      assert.ok(!(redis instanceof Cluster), 'one URL is a standalone server');
      const prefix = uniqueRedisPrefix();
      return {
        redis,
        prefix,
        store: createRedisEphemeralStore({ redis, keyPrefix: prefix }),
        keys: () => scanRedisKeys(redis, prefix),
        async close() {
          await deleteRedisKeys(redis, prefix);
          await redis.quit();
        },
      };
    },
    redisChecks,
  );

  runEphemeralStoreContract(
    'redis store on Redis Cluster',
    async (): Promise<ClusterHarness> => {
      const cluster = await startRedisCluster();
      const redis = createRedisClient(cluster.url);
      try {
        assert.ok(redis instanceof Cluster, 'comma-separated seeds are a cluster');
        await redis.ping(); // ready: every master known
        const prefix = uniqueRedisPrefix();
        return {
          redis,
          prefix,
          store: createRedisEphemeralStore({ redis, keyPrefix: prefix }),
          keys: () => scanClusterKeys(redis, prefix),
          errorsAtStart: await clusterErrorCounts(redis),
          async close() {
            await redis.quit();
            await cluster.stop();
          },
        };
      } catch (error) {
        redis.disconnect();
        await cluster.stop();
        throw error;
      }
    },
    clusterChecks,
  );

  describe('openShortLivedStores with Redis', () => {
    it('fails fast while Redis is unreachable and reconnects on its own', async () => {
      const target = new URL(redisUrl);
      const upstream = { host: target.hostname, port: Number(target.port || 6379) };
      let proxy = await startTcpProxy(upstream);
      const url = new URL(redisUrl);
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      const errors: Error[] = [];
      const stores = openShortLivedStores({
        redisUrl: url.toString(),
        db: undefined as unknown as Database, // not used when redisUrl is set
        keyPrefix: uniqueRedisPrefix(),
        onRedisError: (error) => errors.push(error),
      });
      const store = stores.ephemeral;
      try {
        assert.equal(store.kind, 'redis');
        await store.ping();

        await proxy.stop();
        const started = Date.now();
        await assert.rejects(store.ping());
        assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms to fail`);
        assert.ok(errors.length > 0, 'connection errors are reported');

        proxy = await startTcpProxy(upstream, proxy.port);
        let reconnected = false;
        for (let tries = 0; tries < 50 && !reconnected; tries++) {
          reconnected = await store.ping().then(() => true, () => false);
          if (!reconnected) await sleep(100);
        }
        assert.ok(reconnected, 'the client reconnected');
      } finally {
        await stores.close();
        await proxy.stop();
      }
    });
  });

  describe('openShortLivedStores with Redis Cluster', () => {
    let cluster: RedisClusterHandle | undefined;
    before(async () => {
      cluster = await startRedisCluster();
    });
    after(async () => {
      await cluster?.stop();
    });

    it('uses the cluster, fails fast while it is down and reconnects on its own', async () => {
      const nodes = cluster ?? assert.fail('cluster not started');
      const errors: Error[] = [];
      const stores = openShortLivedStores({
        redisUrl: nodes.url,
        db: undefined as unknown as Database, // not used when redisUrl is set
        keyPrefix: uniqueRedisPrefix(),
        onRedisError: (error) => errors.push(error),
      });
      const store = stores.ephemeral;
      // Records on every master: a standalone client would be sent MOVED for most of them.
      const roundTrip = async () => {
        const keys = Array.from({ length: 12 }, () => id());
        for (const key of keys) await store.upsert('AccessToken', key, { key }, hour);
        for (const key of keys) assert.deepEqual(await store.find('AccessToken', key), { key });
      };
      try {
        assert.equal(store.kind, 'redis');
        await roundTrip();

        await nodes.takeDown();
        for (const attempt of [() => store.ping(), () => store.find('AccessToken', id())]) {
          const started = Date.now();
          await assert.rejects(attempt());
          assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms to fail`);
        }
        assert.ok(errors.length > 0, 'connection errors are reported');

        await nodes.bringUp();
        let reconnected = false;
        for (let tries = 0; tries < 100 && !reconnected; tries++) {
          reconnected = await store.ping().then(() => true, () => false);
          if (!reconnected) await sleep(100);
        }
        assert.ok(reconnected, 'the client reconnected');
        await roundTrip();
      } finally {
        await stores.close();
      }
    });
  });
}

describe('openShortLivedStores without Redis', () => {
  it('uses the database, and close() leaves the database open', async () => {
    const pglite = await createPgliteDatabase();
    try {
      const stores = openShortLivedStores({ redisUrl: undefined, keyPrefix: uniqueRedisPrefix(), db: pglite.db });
      const store = stores.ephemeral;
      assert.equal(store.kind, 'postgres');
      await store.upsert('AccessToken', 'at', { v: 1 }, hour);
      assert.deepEqual(await store.find('AccessToken', 'at'), { v: 1 });
      await stores.close();
      await pglite.db.query('SELECT 1');
    } finally {
      await pglite.close();
    }
  });
});
