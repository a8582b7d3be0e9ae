// The in-process client / API cache: a change written through any connection reaches every
// catalog on the same database through LISTEN/NOTIFY, including cached misses.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCatalog, type Catalog } from '../../src/catalog/catalog.js';
import { deleteClient, insertClient, updateClient } from '../../src/stores/clients.js';
import { openDatabase, type Database } from '../../src/stores/database.js';
import { migrate } from '../../src/stores/migrate.js';
import { deleteResource, insertResource } from '../../src/stores/resources.js';
import { deleteUser, insertUser, updateUser } from '../../src/stores/users.js';
import { createPgliteDatabase, createPostgresDatabase } from '../helpers/stores.js';

async function eventually(check: () => Promise<boolean>, withinMs = 1_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not seen within ${withinMs} ms`);
    await sleep(20);
  }
}

function catalogContract(name: string, open: () => Promise<{ writer: Database; reader: Database; close(): Promise<void> }>) {
  describe(`catalog on ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    async function setup(): Promise<{ writer: Database; catalog: Catalog }> {
      const dbs = await open();
      cleanups.push(() => dbs.close());
      const catalog = await createCatalog(dbs.reader);
      cleanups.push(() => catalog.close());
      return { writer: dbs.writer, catalog };
    }

    it('sees a created, changed and deleted client within a second, cached misses included', async () => {
      const { writer, catalog } = await setup();
      assert.equal(await catalog.findClient('svc'), undefined);
      await insertClient(writer, { clientId: 'svc', metadata: { client_id: 'svc', scope: 'a' }, secretDigest: 'ab' });
      await eventually(async () => (await catalog.findClient('svc'))?.metadata.scope === 'a');
      await updateClient(writer, { clientId: 'svc', metadata: { client_id: 'svc', scope: 'b' } });
      await eventually(async () => (await catalog.findClient('svc'))?.metadata.scope === 'b');
      assert.equal((await catalog.findClient('svc'))?.secretDigest, 'ab', 'a metadata update keeps the digest');
      await deleteClient(writer, 'svc');
      await eventually(async () => (await catalog.findClient('svc')) === undefined);
    });

    it('sees a created, changed and deleted user profile within a second, cached misses included', async () => {
      const { writer, catalog } = await setup();
      const user = {
        sub: 'user-1',
        username: 'ines',
        passwordHash: '$argon2id$placeholder',
        email: undefined,
        emailVerified: false,
        name: 'Ines',
        givenName: undefined,
        familyName: undefined,
        disabled: false,
        mfaRequired: false,
      };
      assert.equal(await catalog.findUser('user-1'), undefined);
      await insertUser(writer, user);
      await eventually(async () => (await catalog.findUser('user-1'))?.name === 'Ines');
      await updateUser(writer, { ...user, name: 'Inès', disabled: true });
      await eventually(async () => (await catalog.findUser('user-1'))?.disabled === true);
      assert.equal((await catalog.findUser('user-1'))?.name, 'Inès');
      await deleteUser(writer, 'user-1');
      await eventually(async () => (await catalog.findUser('user-1')) === undefined);
    });

    it('sees APIs come and go, and a deleted client unlinked from its API', async () => {
      const { writer, catalog } = await setup();
      assert.deepEqual(await catalog.listResources(), []);
      await insertClient(writer, { clientId: 'api-b', metadata: { client_id: 'api-b' }, secretDigest: undefined });
      await insertResource(writer, {
        identifier: 'https://b.test',
        name: undefined,
        scopes: ['b.read'],
        accessTokenTtl: 60,
        accessTokenFormat: 'jwt',
        dpopBoundAccessTokens: false,
        clientId: 'api-b',
      });
      await eventually(async () => (await catalog.findResource('https://b.test'))?.clientId === 'api-b');
      await deleteClient(writer, 'api-b');
      await eventually(async () => (await catalog.findResource('https://b.test'))?.clientId === undefined);
      await deleteResource(writer, 'https://b.test');
      await eventually(async () => (await catalog.listResources()).length === 0);
    });

    it('drops an entry at once when told by its own instance', async () => {
      const { writer, catalog } = await setup();
      assert.equal(await catalog.findClient('local'), undefined);
      await insertClient(writer, { clientId: 'local', metadata: { client_id: 'local' }, secretDigest: undefined });
      catalog.invalidate({ type: 'client', id: 'local' });
      assert.equal((await catalog.findClient('local'))?.clientId, 'local');
    });
  });
}

catalogContract('PGlite (one connection)', async () => {
  const pglite = await createPgliteDatabase();
  return { writer: pglite.db, reader: pglite.db, close: () => pglite.close() };
});

if (process.env.DATABASE_URL) {
  catalogContract('Postgres (two instances)', async () => {
    const database = await createPostgresDatabase();
    const writer = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    const reader = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    await migrate(writer);
    return {
      writer,
      reader,
      async close() {
        await writer.close();
        await reader.close();
        await database.drop();
      },
    };
  });
}
