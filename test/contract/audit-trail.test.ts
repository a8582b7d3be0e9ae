// The audit trail's grouped writes: every recorded event is stored, in order, when record()
// resolves; events recorded together share INSERTs; one event the database refuses costs only
// itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAudit } from '../../src/audit/audit.js';
import { createLogger } from '../../src/log.js';
import type { Database } from '../../src/stores/database.js';
import { migrate } from '../../src/stores/migrate.js';
import { listSecurityEvents } from '../../src/stores/security-events.js';
import { createPgliteDatabase, createPostgresDatabase } from '../helpers/stores.js';
import { openDatabase } from '../../src/stores/database.js';

describe(`audit trail (${process.env.DATABASE_URL ? 'Postgres' : 'PGlite'})`, () => {
  let db: Database;
  let close: () => Promise<void>;
  let inserts = 0;

  before(async () => {
    if (process.env.DATABASE_URL) {
      const database = await createPostgresDatabase();
      db = await openDatabase({ databaseUrl: database.url, dataDir: '' });
      close = async () => {
        await db.close();
        await database.drop();
      };
    } else {
      const embedded = await createPgliteDatabase();
      db = embedded.db;
      close = embedded.close;
    }
    await migrate(db);
  });

  after(() => close());

  const countingDb = (): Database =>
    ({
      ...db,
      query: (...args: Parameters<Database['query']>) => {
        if (/INSERT INTO security_events/.test(args[0])) inserts += 1;
        return db.query(...args);
      },
    });

  it('stores 200 events recorded at once, in order, with far fewer INSERTs', async () => {
    inserts = 0;
    const audit = createAudit({ db: countingDb(), log: createLogger('silent') });
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => audit.record({ type: 'group_test', outcome: 'success', clientId: `c${i}`, details: { i } })),
    );
    const stored = await listSecurityEvents(db, { type: 'group_test', limit: 500 });
    assert.equal(stored.length, 200);
    assert.deepEqual(
      stored.map((event) => event.details?.i).reverse(),
      Array.from({ length: 200 }, (_, i) => i),
      'newest first means the reverse of the order recorded',
    );
    assert.ok(inserts <= 3, `expected the events to share INSERTs, got ${inserts}`);
  });

  it('loses only the event the database refuses', async () => {
    const audit = createAudit({ db, log: createLogger('silent') });
    await Promise.all([
      audit.record({ type: 'poison_test', outcome: 'success', details: { n: 1 } }),
      audit.record({ type: 'poison_test', outcome: 'success', details: { bad: 'nul\u0000here' } }),
      audit.record({ type: 'poison_test', outcome: 'failure', details: { n: 3 } }),
    ]);
    const stored = await listSecurityEvents(db, { type: 'poison_test', limit: 10 });
    assert.deepEqual(stored.map((event) => event.details?.n).sort(), [1, 3]);
  });
});
