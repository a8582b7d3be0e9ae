// oidc/adapter.ts against the real stores (PGlite always; Postgres + Redis when set): the precise
// times it keeps beside the library's seconds, and the revocation checks on stored records.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Adapter } from 'oidc-provider';
import type { Catalog } from '../../src/catalog/catalog.js';
import { createAdapterFactory } from '../../src/oidc/adapter.js';
import { opaqueTokenReference } from '../../src/tokens/opaque-token-reference.js';
import { openDatabase, type Database } from '../../src/stores/database.js';
import { migrate } from '../../src/stores/migrate.js';
import { openShortLivedStores, type ShortLivedStores } from '../../src/stores/short-lived.js';
import { revokedBeforeLifetime, type RevocationStore } from '../../src/stores/revocations/types.js';
import { openRevocations } from '../../src/revocation/revocations.js';
import { createLogger } from '../../src/log.js';
import type { Redis } from 'ioredis';
import { createRedisClient } from '../../src/stores/redis-client.js';
import { createPgliteDatabase, createPostgresDatabase, deleteRedisKeys, uniqueRedisPrefix } from '../helpers/stores.js';

// Only the Client model reads the catalog; these tests never touch it.
const noCatalog = {} as Catalog;
const epoch = () => Math.floor(Date.now() / 1000);

function runAdapterChecks(name: string, open: () => Promise<{ db: Database; redisUrl?: string; close(): Promise<void> }>) {
  describe(`adapter revocation checks: ${name}`, () => {
    let stores: ShortLivedStores;
    let revocations: RevocationStore;
    let closeDb: () => Promise<void>;
    let adapter: (model: string) => Adapter;
    let redisUrl: string | undefined;
    const prefix = uniqueRedisPrefix();

    before(async () => {
      const opened = await open();
      closeDb = opened.close;
      redisUrl = opened.redisUrl;
      stores = openShortLivedStores({ redisUrl, keyPrefix: prefix, db: opened.db });
      revocations = await openRevocations({
        db: opened.db,
        redis: stores.redis && { connection: stores.redis, keyPrefix: prefix },
        log: createLogger('silent'),
        // Marks as given: these tests place tokens a millisecond either side of one.
        clockMarginMs: 0,
      });
      adapter = createAdapterFactory({ store: stores.ephemeral, catalog: noCatalog, revocations, clockTolerance: 5 });
    });

    after(async () => {
      await revocations?.close();
      await stores?.close();
      if (redisUrl) {
        const redis = createRedisClient(redisUrl);
        await deleteRedisKeys(redis as Redis, prefix);
        redis.disconnect();
      }
      await closeDb?.();
    });

    it('regression: a login right after a revocation of the user was born revoked — the session keeps its login millisecond across re-saves', async () => {
      const sessions = adapter('Session');
      const [sub, id] = [randomUUID(), randomUUID()];
      const revokedAt = Date.now();
      await revocations.revokeIssuedBefore('sub', sub, revokedAt, revokedBeforeLifetime);
      while (Date.now() <= revokedAt) await new Promise((resolve) => setImmediate(resolve));
      const login = { jti: id, uid: randomUUID(), kind: 'Session', accountId: sub, loginTs: epoch(), exp: epoch() + 600 };
      await sessions.upsert(id, login, 600);
      const stored = await sessions.find(id);
      assert.ok(stored, 'a session logged in after the revocation lives');
      const loginMs = (stored as Record<string, unknown>).loginTsMs as number;
      assert.ok(loginMs > revokedAt, `login at ${loginMs}, revoked at ${revokedAt}`);
      // The library re-saves the session (without our field) on later visits: the login time stays.
      await sessions.upsert(id, { ...login, state: { visited: true } }, 600);
      assert.equal(((await sessions.find(id)) as Record<string, unknown>).loginTsMs, loginMs);
      // A revocation after the login ends it.
      await revocations.revokeIssuedBefore('sub', sub, Date.now(), revokedBeforeLifetime);
      assert.equal(await sessions.find(id), undefined);
    });

    it('stamps a stored token with its iat_ms, and revokes it at millisecond precision', async () => {
      const tokens = adapter('AccessToken');
      const [id, clientId] = [randomUUID(), randomUUID()];
      const iat = epoch();
      const iatMs = iat * 1000 + 1;
      await tokens.upsert(id, { jti: id, kind: 'AccessToken', clientId, iat, exp: iat + 600, extra: { iat_ms: iatMs } }, 600);
      assert.equal(((await tokens.find(id)) as Record<string, unknown>).iatMs, iatMs);
      await revocations.revokeIssuedBefore('client', clientId, iatMs - 1, revokedBeforeLifetime);
      assert.ok(await tokens.find(id), 'revoked a millisecond before it was issued: lives');
      await revocations.revokeIssuedBefore('client', clientId, iatMs, revokedBeforeLifetime);
      assert.equal(await tokens.find(id), undefined, 'revoked in its millisecond: dead');
    });

    it('refuses an opaque token listed by its reference, and one exchanged from a revoked ancestor', async () => {
      const tokens = adapter('AccessToken');
      const [value, child, ancestorJti] = [randomUUID(), randomUUID(), randomUUID()];
      const iat = epoch();
      await tokens.upsert(value, { jti: value, kind: 'AccessToken', clientId: 'c', iat, exp: iat + 600 }, 600);
      await tokens.upsert(child, {
        jti: child,
        kind: 'AccessToken',
        clientId: 'c2',
        iat,
        exp: iat + 600,
        extra: { exchanged_from: [{ jti: ancestorJti, client_id: 'c' }] },
      }, 600);
      assert.ok(await tokens.find(value));
      assert.ok(await tokens.find(child));
      // Listed by reference while its record is still there (a delete that failed): refused.
      await revocations.revokeToken(opaqueTokenReference(value), iat + 600);
      assert.equal(await tokens.find(value), undefined);
      await revocations.revokeToken(ancestorJti, iat + 600);
      assert.equal(await tokens.find(child), undefined);
      // Destroying an opaque token lists its reference for what was exchanged from it.
      const other = randomUUID();
      await tokens.upsert(other, { jti: other, kind: 'AccessToken', clientId: 'c', iat, exp: iat + 600 }, 600);
      await tokens.destroy(other);
      assert.equal(await revocations.isRevoked({ jti: opaqueTokenReference(other), issuedAt: Date.now() }), true);
    });
  });
}

runAdapterChecks('PGlite', async () => {
  const pglite = await createPgliteDatabase();
  return { db: pglite.db, close: pglite.close };
});

if (process.env.DATABASE_URL && process.env.REDIS_URL) {
  const redisUrl = process.env.REDIS_URL;
  runAdapterChecks('Postgres + Redis', async () => {
    const database = await createPostgresDatabase();
    const db = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    await migrate(db);
    return {
      db,
      redisUrl,
      async close() {
        await db.close();
        await database.drop();
      },
    };
  });
}
