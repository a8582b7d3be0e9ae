// The clock margin of "revoked before" marks (src/revocation/revocations.ts): a mark is
// set ahead of the moment of revocation, so a token stamped by an instance whose clock runs up to
// the margin ahead is still covered, and the call answers only once the mark has passed, so a
// token issued after the answer lives. Against the store on PGlite (the margin is added where a
// revocation is recorded; the store contract suite checks the marks as given, with no margin).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/log.js';
import { openRevocations, revocationClockMarginMs } from '../../src/revocation/revocations.js';
import { listRevocationEvents } from '../../src/stores/revocation-events.js';
import { revokedBeforeLifetime, type RevocationStore } from '../../src/stores/revocations/types.js';
import { createPgliteDatabase } from '../helpers/stores.js';

describe('revocation clock margin', () => {
  let pglite: Awaited<ReturnType<typeof createPgliteDatabase>>;
  let revocations: RevocationStore;

  before(async () => {
    pglite = await createPgliteDatabase();
    revocations = await openRevocations({ db: pglite.db, log: createLogger('silent') });
  });
  after(async () => {
    await revocations.close();
    await pglite.close();
  });

  it('covers a token stamped up to the margin ahead of the revocation, and lives after the answer', async () => {
    const sub = randomUUID();
    const at = Date.now();
    await revocations.revokeIssuedBefore('sub', sub, at, revokedBeforeLifetime);
    const answered = Date.now();
    assert.ok(answered > at + revocationClockMarginMs, 'the call answers only once the mark has passed');

    // Issued just before the revocation on an instance whose clock runs ahead by nearly the margin.
    const skewed = at + revocationClockMarginMs - 1;
    assert.equal(await revocations.isRevoked({ jti: randomUUID(), issuedAt: skewed, sub }), true);
    // Issued after the answer, on a clock in step with ours.
    assert.equal(await revocations.isRevoked({ jti: randomUUID(), issuedAt: answered, sub }), false);

    const events = await listRevocationEvents(pglite.db, 0, 100);
    const event = events.find((candidate) => candidate.value === sub);
    assert.equal(event?.revokedAt, at + revocationClockMarginMs, 'the feed carries the mark itself');
  });
});
