// One contract for every RevocationStore, run against real servers: the Postgres store on PGlite
// (always) and on Postgres (DATABASE_URL), the Redis store on Redis and on a 3-master Redis
// Cluster the suite starts itself (both when REDIS_URL is set). Each backend then checks its own
// storage: every mark expires, and (cluster) all of it sits in one slot, read with one command.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { openDatabase, type Database } from '../../src/stores/database.js';
import { migrate } from '../../src/stores/migrate.js';
import { createRedisClient, type RedisConnection } from '../../src/stores/redis-client.js';
import { createLogger } from '../../src/log.js';
import { openRevocations } from '../../src/revocation/revocations.js';
import { createRedisRevocationCopy } from '../../src/stores/revocations/redis.js';
import type { RevocationKind, RevocationStore } from '../../src/stores/revocations/types.js';
import { clusterErrorCounts, keySlot, scanClusterKeys, startRedisCluster } from '../helpers/redis-cluster.js';
import {
  createPgliteDatabase,
  createPostgresDatabase,
  deleteRedisKeys,
  scanRedisKeys,
  uniqueRedisPrefix,
} from '../helpers/stores.js';

interface Harness {
  store: RevocationStore;
  close(): Promise<void>;
}

const hour = 3600;
const day = 24 * hour;
const kinds: readonly RevocationKind[] = ['sub', 'client', 'grant'];
const id = () => randomUUID();
const epochNow = () => Math.floor(Date.now() / 1000);
/** Marks and issue times are in ms since the epoch. */
const msNow = () => Date.now();
const second = 1000;
/** The TokenIdentity field that carries each kind. */
const field = { sub: 'sub', client: 'clientId', grant: 'grantId' } as const;

function runRevocationStoreContract<H extends Harness>(
  name: string,
  makeStore: () => Promise<H>,
  backendChecks?: (harness: () => H) => void,
) {
  describe(`revocation store contract: ${name}`, () => {
    let harness: H | undefined;
    const current = () => harness ?? assert.fail('store not opened');
    const store = () => current().store;
    before(async () => {
      harness = await makeStore();
    });
    after(async () => {
      await harness?.close();
    });

    it('revokes nothing until told to', async () => {
      const now = msNow();
      assert.equal(await store().isRevoked({ jti: id(), issuedAt: now }), false);
      assert.equal(await store().isRevoked({ jti: id(), issuedAt: now, sub: id(), clientId: id(), grantId: id() }), false);
    });

    it('revokeToken lists a jti until its exp, whatever else the token names', async () => {
      const [jti, other] = [id(), id()];
      const now = epochNow();
      await store().revokeToken(jti, now + hour);
      assert.equal(await store().isRevoked({ jti, issuedAt: msNow() }), true);
      assert.equal(await store().isRevoked({ jti, issuedAt: msNow() + 10 * second, sub: id(), clientId: id(), grantId: id() }), true);
      assert.equal(await store().isRevoked({ jti: other, issuedAt: msNow() }), false);

      // A token past its exp is dead anyway: listing it changes nothing.
      const expired = id();
      await store().revokeToken(expired, now - 10);
      assert.equal(await store().isRevoked({ jti: expired, issuedAt: msNow() - hour * second }), false);
    });

    it('revokeIssuedBefore revokes the tokens of that subject / client / grant issued at or before the mark', async () => {
      const at = msNow();
      for (const kind of kinds) {
        const target = id();
        await store().revokeIssuedBefore(kind, target, at, day);
        const token = (issuedAt: number) => ({ jti: id(), issuedAt, [field[kind]]: target });
        assert.equal(await store().isRevoked(token(at - hour * second)), true, `${kind}: issued before`);
        assert.equal(await store().isRevoked(token(at - 1)), true, `${kind}: issued a millisecond before`);
        assert.equal(await store().isRevoked(token(at)), true, `${kind}: issued at the mark`);
        assert.equal(await store().isRevoked(token(at + 1)), false, `${kind}: issued a millisecond after`);
        // Another id, and the same id as another kind, are untouched.
        assert.equal(await store().isRevoked({ jti: id(), issuedAt: at - hour * second, [field[kind]]: id() }), false, `${kind}: other id`);
        for (const otherKind of kinds.filter((other) => other !== kind)) {
          const crossed = { jti: id(), issuedAt: at - hour * second, [field[otherKind]]: target };
          assert.equal(await store().isRevoked(crossed), false, `${kind} mark read as ${otherKind}`);
        }
      }
    });

    it('keeps the later of two marks', async () => {
      const at = msNow();
      for (const kind of kinds) {
        const target = id();
        const token = (issuedAt: number) => ({ jti: id(), issuedAt, [field[kind]]: target });
        await store().revokeIssuedBefore(kind, target, at, day);
        await store().revokeIssuedBefore(kind, target, at - 100, day); // delayed, older
        assert.equal(await store().isRevoked(token(at - 50)), true, `${kind}: the later mark still holds`);
        assert.equal(await store().isRevoked(token(at + 50)), false, kind);
        await store().revokeIssuedBefore(kind, target, at + 100, day);
        assert.equal(await store().isRevoked(token(at + 50)), true, `${kind}: a later mark replaces it`);
      }
    });

    it('checks a token with only a jti, and one naming every id', async () => {
      const now = msNow();
      const [sub, clientId, grantId] = [id(), id(), id()];
      // Marks for ids the bare token does not name never reach it.
      for (const [kind, target] of [['sub', sub], ['client', clientId], ['grant', grantId]] as const) {
        await store().revokeIssuedBefore(kind, target, now, day);
      }
      assert.equal(await store().isRevoked({ jti: id(), issuedAt: now - 10 }), false);
      // Any one of its ids revokes a full token; none of them, no.
      const full = { issuedAt: now - 10, sub: id(), clientId: id(), grantId: id() };
      assert.equal(await store().isRevoked({ jti: id(), ...full }), false);
      assert.equal(await store().isRevoked({ jti: id(), ...full, sub }), true);
      assert.equal(await store().isRevoked({ jti: id(), ...full, clientId }), true);
      assert.equal(await store().isRevoked({ jti: id(), ...full, grantId }), true);
      const jti = id();
      await store().revokeToken(jti, epochNow() + hour);
      assert.equal(await store().isRevoked({ jti, ...full }), true);
    });

    it('regression: revocation "before" had one-second granularity — in the same second, a token issued after the mark lives and one issued before it dies', async () => {
      // A mark in the middle of a second: everything below is inside that one second.
      const at = Math.floor(msNow() / second) * second + 500;
      for (const kind of kinds) {
        const target = id();
        await store().revokeIssuedBefore(kind, target, at, day);
        const token = (issuedAt: number) => ({ jti: id(), issuedAt, [field[kind]]: target });
        assert.equal(await store().isRevoked(token(at - 499)), true, `${kind}: issued earlier in the second`);
        assert.equal(await store().isRevoked(token(at + 1)), false, `${kind}: issued a millisecond after, same second`);
        assert.equal(await store().isRevoked(token(at + 499)), false, `${kind}: issued later in the same second`);
      }
    });

    it('reads a mark given in epoch seconds (before migration 009) as its whole second, failing closed', async () => {
      const seconds = epochNow();
      for (const kind of kinds) {
        const target = id();
        await store().revokeIssuedBefore(kind, target, seconds, day);
        const token = (issuedAt: number) => ({ jti: id(), issuedAt, [field[kind]]: target });
        assert.equal(await store().isRevoked(token(seconds * second + 999)), true, `${kind}: last ms of that second`);
        assert.equal(await store().isRevoked(token((seconds + 1) * second)), false, `${kind}: the next second`);
        // A later mark in ms replaces it; an older one in ms does not weaken it.
        await store().revokeIssuedBefore(kind, target, seconds * second + 100, day);
        assert.equal(await store().isRevoked(token(seconds * second + 999)), true, `${kind}: kept the later (seconds) mark`);
        await store().revokeIssuedBefore(kind, target, (seconds + 1) * second + 100, day);
        assert.equal(await store().isRevoked(token((seconds + 1) * second + 50)), true, `${kind}: a later ms mark replaced it`);
        assert.equal(await store().isRevoked(token((seconds + 1) * second + 101)), false, kind);
      }
    });

    it('regression: exchanged tokens outlived revocations of their source — a revoked ancestor jti or ancestor client revokes the token', async () => {
      const now = msNow();
      const [rootJti, middleJti, rootClient, middleClient] = [id(), id(), id(), id()];
      const exchanged = (issuedAt: number) => ({
        jti: id(),
        issuedAt,
        sub: id(),
        clientId: id(),
        exchangedFrom: [
          { jti: middleJti, clientId: middleClient },
          { jti: rootJti, clientId: rootClient },
        ],
      });
      assert.equal(await store().isRevoked(exchanged(now)), false, 'nothing revoked yet');

      await store().revokeToken(rootJti, epochNow() + hour);
      assert.equal(await store().isRevoked(exchanged(now)), true, 'the root jti is revoked');
      assert.equal(await store().isRevoked({ ...exchanged(now), exchangedFrom: [{ jti: middleJti }] }), false, 'other lineage');

      const lineage = (clientId: string) => ({ jti: id(), issuedAt: now, exchangedFrom: [{ jti: id(), clientId }] });
      await store().revokeIssuedBefore('client', rootClient, now + 10, day);
      assert.equal(await store().isRevoked(lineage(rootClient)), true, 'the root client was revoked after it was issued');
      assert.equal(await store().isRevoked({ ...lineage(rootClient), issuedAt: now + 11 }), false, 'issued after the client revocation');
      assert.equal(await store().isRevoked(lineage(middleClient)), false, 'another client');
      // An ancestor's client is matched as a client, never as a subject or a grant.
      await store().revokeIssuedBefore('sub', middleClient, now + 10, day);
      assert.equal(await store().isRevoked(lineage(middleClient)), false, 'a sub mark read as an ancestor client');
    });

    // The only waits in the suite: a listing ends at the token's exp, and a second listing with
    // an earlier exp does not end it sooner.
    it('ends a listing at exp, never earlier', async () => {
      // The short listing ends at the next second boundary: start early in a second, so the
      // writes below cannot outlast it on a busy machine (late in a second they could).
      if (Date.now() % second > 500) await sleep(second - (Date.now() % second) + 5);
      const now = epochNow();
      const [short, longFirst, shortFirst] = [id(), id(), id()];
      await store().revokeToken(short, now + 1);
      await store().revokeToken(longFirst, now + hour);
      await store().revokeToken(longFirst, now + 1);
      await store().revokeToken(shortFirst, now + 1);
      await store().revokeToken(shortFirst, now + hour);
      assert.equal(await store().isRevoked({ jti: short, issuedAt: msNow() }), true);

      await sleep((now + 1) * 1000 - Date.now() + 200);

      assert.equal(await store().isRevoked({ jti: short, issuedAt: now * second }), false, 'still listed after exp');
      assert.equal(await store().isRevoked({ jti: longFirst, issuedAt: now * second }), true, 'an earlier exp shortened it');
      assert.equal(await store().isRevoked({ jti: shortFirst, issuedAt: now * second }), true, 'a later exp did not extend it');
    });

    backendChecks?.(current);
  });
}

// ---- Postgres store: PGlite always, real Postgres when DATABASE_URL is set ----

interface PostgresHarness extends Harness {
  db: Database;
}

function postgresChecks(harness: () => PostgresHarness) {
  it('keeps every mark with its expiry, the longer of two', async () => {
    const { db, store } = harness();
    const [jti, sub] = [id(), id()];
    const now = epochNow();
    await store.revokeToken(jti, now + hour);
    await store.revokeToken(jti, now + 60);
    await store.revokeIssuedBefore('sub', sub, now * second, day);
    await store.revokeIssuedBefore('sub', sub, now * second, 60);
    const [token] = await db.query<{ expires_in: number }>(
      'SELECT extract(epoch FROM expires_at - now())::float8 AS expires_in FROM revoked_tokens WHERE jti = $1',
      [jti],
    );
    const [mark] = await db.query<{ expires_in: number }>(
      `SELECT extract(epoch FROM expires_at - now())::float8 AS expires_in FROM revoked_before WHERE kind = 'sub' AND id = $1`,
      [sub],
    );
    assert.ok(token && Math.abs(token.expires_in - hour) < 5, `jti expires in ${token?.expires_in} s`);
    assert.ok(mark && Math.abs(mark.expires_in - day) < 5, `mark expires in ${mark?.expires_in} s`);
  });
}

const silent = createLogger('silent');

async function postgresHarness(db: Database, closeDb: () => Promise<void>): Promise<PostgresHarness> {
  // No clock margin: the contract is about the marks as given (revocation-clock-margin.test.ts).
  const store = await openRevocations({ db, log: silent, clockMarginMs: 0 });
  return {
    db,
    store,
    async close() {
      await store.close();
      await closeDb();
    },
  };
}

runRevocationStoreContract(
  'postgres store on PGlite',
  async () => {
    const pglite = await createPgliteDatabase();
    return postgresHarness(pglite.db, pglite.close);
  },
  postgresChecks,
);

if (process.env.DATABASE_URL) {
  runRevocationStoreContract(
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

// ---- Redis copy, when REDIS_URL is set: on that server, and on a cluster of our own ----
// The record is always in a database (PGlite here); Redis holds the copy checks read.

interface RedisHarness extends Harness {
  redis: RedisConnection;
  prefix: string;
  db: Database;
  /** Every key under prefix (on every master, for a cluster). */
  keys(): Promise<string[]>;
}

function redisChecks(harness: () => RedisHarness) {
  it('gives every key a TTL: the jti until exp, a mark its lifetime, the longer of two', async () => {
    const { redis, prefix, store } = harness();
    const [jti, grant] = [id(), id()];
    const now = epochNow();
    await store.revokeToken(jti, now + hour);
    await store.revokeToken(jti, now + 60);
    await store.revokeIssuedBefore('grant', grant, now * second, day);
    await store.revokeIssuedBefore('grant', grant, now * second + 1, 60);
    const jtiTtl = await redis.pttl(`${prefix}{revoked}:jti:${jti}`);
    const markTtl = await redis.pttl(`${prefix}{revoked}:grant:${grant}`);
    assert.ok(Math.abs(jtiTtl - hour * 1000) < 5_000, `jti TTL ${jtiTtl} ms`);
    assert.ok(Math.abs(markTtl - day * 1000) < 5_000, `mark TTL ${markTtl} ms`);
    assert.equal(await redis.get(`${prefix}{revoked}:grant:${grant}`), String(now * second + 1));
  });

  // Losing Redis's data (FLUSHALL, a restart without persistence, a new empty server) looks
  // like this to the store: every key of the copy gone at once.
  const loseCopy = async (h: RedisHarness) => {
    for (const key of await h.keys()) await h.redis.del(key);
  };
  const completeness = (h: RedisHarness) => h.redis.get(`${h.prefix}{revoked}:complete-up-to`);
  const waitForCopy = async (h: RedisHarness) => {
    for (let attempt = 0; attempt < 200 && (await completeness(h)) === null; attempt += 1) await sleep(25);
    assert.notEqual(await completeness(h), null, 'the copy was rebuilt');
  };

  it('regression: a flushed Redis revived revoked tokens — checks ask the record until the copy is rebuilt from it', async () => {
    const h = harness();
    const [jti, sub, grant] = [id(), id(), id()];
    const issuedAt = msNow();
    await h.store.revokeToken(jti, epochNow() + hour);
    await h.store.revokeIssuedBefore('sub', sub, msNow(), day);
    await h.store.revokeIssuedBefore('grant', grant, msNow(), day);
    await loseCopy(h);
    assert.equal(await completeness(h), null);
    // Many checks at once, while the copy is missing and being rebuilt: none says "not revoked".
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        h.store.isRevoked(i % 3 === 0 ? { jti, issuedAt } : i % 3 === 1 ? { jti: id(), issuedAt, sub } : { jti: id(), issuedAt, grantId: grant }),
      ),
    );
    assert.deepEqual(new Set(answers), new Set([true]));
    await waitForCopy(h);
    assert.equal(await h.redis.exists(`${h.prefix}{revoked}:jti:${jti}`, `${h.prefix}{revoked}:sub:${sub}`, `${h.prefix}{revoked}:grant:${grant}`), 3);
    assert.equal(await h.store.isRevoked({ jti, issuedAt }), true);
    assert.equal(await h.store.isRevoked({ jti: id(), issuedAt, sub }), true);
    assert.equal(await h.store.isRevoked({ jti: id(), issuedAt: msNow() + 1000, sub }), false, 'tokens issued later live');
  });

  it('a revocation written while the copy is missing does not make the copy look complete', async () => {
    const h = harness();
    const [before, during] = [id(), id()];
    await h.store.revokeIssuedBefore('sub', before, msNow(), day);
    await loseCopy(h);
    await h.store.revokeIssuedBefore('sub', during, msNow(), day);
    await waitForCopy(h);
    const issuedAt = msNow() - 60_000;
    assert.equal(await h.store.isRevoked({ jti: id(), issuedAt, sub: before }), true);
    assert.equal(await h.redis.exists(`${h.prefix}{revoked}:sub:${before}`), 1, 'the older mark was copied back');
    assert.equal(await h.store.isRevoked({ jti: id(), issuedAt, sub: during }), true);
  });

  it('a copy swapped for an older one (a restored snapshot, a lagging replica) is caught up, and checks ask the record meanwhile', async () => {
    const h = harness();
    const [older, newer] = [id(), id()];
    await h.store.revokeIssuedBefore('client', older, msNow(), day);
    const snapshot = await completeness(h);
    assert.ok(snapshot !== null);
    await h.store.revokeIssuedBefore('client', newer, msNow(), day);
    // The older copy: completeness back where it was, the newer mark not there.
    await h.redis.set(`${h.prefix}{revoked}:complete-up-to`, snapshot);
    await h.redis.del(`${h.prefix}{revoked}:client:${newer}`);
    assert.equal(await h.store.isRevoked({ jti: id(), issuedAt: msNow() - 1000, clientId: newer }), true);
    for (let attempt = 0; attempt < 200 && !(await h.redis.exists(`${h.prefix}{revoked}:client:${newer}`)); attempt += 1) await sleep(25);
    assert.equal(await h.redis.exists(`${h.prefix}{revoked}:client:${newer}`), 1, 'the newer mark was copied again');
    assert.ok(Number(await completeness(h)) > Number(snapshot));
  });

  it('a copy ahead of the record (a database restored from a backup) is rebuilt, so it cannot hide new revocations', async () => {
    const h = harness();
    const sub = id();
    await h.redis.set(`${h.prefix}{revoked}:complete-up-to`, String(1e12));
    await h.store.revokeIssuedBefore('sub', sub, msNow(), day);
    assert.equal(await h.store.isRevoked({ jti: id(), issuedAt: msNow() - 1000, sub }), true);
    await waitForCopy(h);
    assert.ok(Number(await completeness(h)) < 1e12, 'the copy was started afresh');
  });

  it('the feed and the checks agree after a loss: both come from the record', async () => {
    const h = harness();
    const jti = id();
    await h.store.revokeToken(jti, epochNow() + hour);
    await loseCopy(h);
    const events = await h.db.query<{ value: string }>(`SELECT value FROM revocation_events WHERE kind = 'jti' AND value = $1`, [jti]);
    assert.equal(events.length, 1, 'the feed has it');
    assert.equal(await h.store.isRevoked({ jti, issuedAt: msNow() }), true, 'and so does introspection');
    await waitForCopy(h);
  });

  // Runs last: every key the suite wrote is still there.
  it('leaves no key without a TTL but the copy\'s completeness mark', async () => {
    const { redis, prefix, keys: scan } = harness();
    const keys = await scan();
    for (const kind of ['jti', ...kinds]) {
      assert.ok(keys.some((key) => key.startsWith(`${prefix}{revoked}:${kind}:`)), `no ${kind} key to check`);
    }
    // The completeness mark lives as long as the copy: its absence is how a loss is seen.
    for (const key of keys.filter((key) => key !== `${prefix}{revoked}:complete-up-to`)) {
      assert.ok((await redis.pttl(key)) > 0, `${key} has no TTL`);
    }
  });
}

interface ClusterHarness extends RedisHarness {
  redis: Cluster;
  errorsAtStart: Map<string, number>;
}

/** Calls of each command on every master (`INFO commandstats`). */
async function commandCounts(redis: Cluster): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const node of redis.nodes('master')) {
    const info = await node.info('commandstats');
    for (const [, command, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      counts.set(command as string, (counts.get(command as string) ?? 0) + Number(calls));
    }
  }
  return counts;
}

function clusterChecks(harness: () => ClusterHarness) {
  redisChecks(harness);

  it('keeps all revocation state in the slot of {revoked}', async () => {
    const { redis, keys } = harness();
    const slot = await keySlot(redis, 'revoked');
    const written = await keys();
    assert.ok(written.length > 0);
    for (const key of written) assert.equal(await keySlot(redis, key), slot, key);
  });

  it('checks a token with one MGET, its whole exchange lineage included', async () => {
    const { redis, store } = harness();
    const token = {
      jti: id(),
      issuedAt: msNow(),
      sub: id(),
      clientId: id(),
      grantId: id(),
      exchangedFrom: [{ jti: id(), clientId: id() }, { jti: id(), clientId: id() }],
    };
    const before = await commandCounts(redis);
    await store.isRevoked(token);
    const afterwards = await commandCounts(redis);
    // Leaves out our own INFO and the client's periodic slot-map refresh (CLUSTER SLOTS).
    const sent = [...afterwards]
      .filter(([command]) => command !== 'info' && !command.startsWith('cluster|'))
      .map(([command, calls]) => [command, calls - (before.get(command) ?? 0)] as const)
      .filter(([, calls]) => calls > 0);
    assert.deepEqual(sent, [['mget', 1]]);
  });

  // Runs last: the whole suite, as each master saw it.
  it('never sent a command across slots', async () => {
    const { redis, errorsAtStart } = harness();
    const errors = await clusterErrorCounts(redis);
    assert.equal(errors.get('CROSSSLOT') ?? 0, 0, 'CROSSSLOT errors');
    assert.equal(errors.get('ERR') ?? 0, errorsAtStart.get('ERR') ?? 0, 'ERR replies during the suite');
  });
}

/** The store with its copy in Redis; the relay's idle check is slowed so command counts stay exact. */
function redisCopiedStore(db: Database, redis: RedisConnection, prefix: string): Promise<RevocationStore> {
  return openRevocations({ db, redis: { connection: redis, keyPrefix: prefix, checkIntervalMs: 60_000 }, log: silent, clockMarginMs: 0 });
}

if (process.env.REDIS_URL) {
  const redisUrl = process.env.REDIS_URL;

  runRevocationStoreContract(
    'redis store on Redis',
    async (): Promise<RedisHarness> => {
      const redis = createRedisClient(redisUrl);
      assert.ok(!(redis instanceof Cluster), 'one URL is a standalone server');
      const prefix = uniqueRedisPrefix();
      const pglite = await createPgliteDatabase();
      const store = await redisCopiedStore(pglite.db, redis, prefix);
      return {
        redis,
        prefix,
        db: pglite.db,
        store,
        keys: () => scanRedisKeys(redis, prefix),
        async close() {
          await store.close();
          await deleteRedisKeys(redis, prefix);
          await redis.quit();
          await pglite.close();
        },
      };
    },
    redisChecks,
  );

  runRevocationStoreContract(
    'redis store on Redis Cluster',
    async (): Promise<ClusterHarness> => {
      const cluster = await startRedisCluster();
      const redis = createRedisClient(cluster.url);
      try {
        assert.ok(redis instanceof Cluster, 'comma-separated seeds are a cluster');
        await redis.ping(); // ready: every master known
        const prefix = uniqueRedisPrefix();
        const pglite = await createPgliteDatabase();
        const store = await redisCopiedStore(pglite.db, redis, prefix);
        return {
          redis,
          prefix,
          db: pglite.db,
          store,
          keys: () => scanClusterKeys(redis, prefix),
          errorsAtStart: await clusterErrorCounts(redis),
          async close() {
            await store.close();
            await redis.quit();
            await cluster.stop();
            await pglite.close();
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
}

describe('createRedisRevocationCopy', () => {
  it('refuses a key prefix that would scatter its keys over the cluster slots', () => {
    const redis = undefined as unknown as RedisConnection; // never used: no command is sent
    assert.throws(() => createRedisRevocationCopy({ redis, keyPrefix: 'app{}:' }), /scatter/);
    createRedisRevocationCopy({ redis, keyPrefix: '{tenant-a}:' });
  });
});
