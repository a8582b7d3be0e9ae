// Password login against the users table: hashes made with older argon2 parameters are
// upgraded at the next successful login; disabled and unknown users fail alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import argon2 from 'argon2';
import { authenticateUser } from '../../src/interactions/authenticate.js';
import { createLogger } from '../../src/log.js';
import { findUserBySub, insertUser } from '../../src/stores/users.js';
import { createPgliteDatabase } from '../helpers/stores.js';

describe('authenticateUser', () => {
  let pglite: Awaited<ReturnType<typeof createPgliteDatabase>>;
  const log = createLogger('silent');
  const password = 'an old but good password';

  before(async () => {
    pglite = await createPgliteDatabase();
  });
  after(() => pglite.close());

  async function addUser(sub: string, username: string, hash: string, disabled = false) {
    await insertUser(pglite.db, {
      sub,
      username,
      passwordHash: hash,
      email: undefined,
      emailVerified: false,
      name: undefined,
      givenName: undefined,
      familyName: undefined,
      disabled,
      mfaRequired: false,
    });
  }

  it('upgrades a hash made with older parameters at the next successful login', async () => {
    const weak = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await addUser('u-old', 'old-hash', weak);
    assert.deepEqual(await authenticateUser({ db: pglite.db, log }, 'old-hash', password), { ok: true, sub: 'u-old' });
    const upgraded = (await findUserBySub(pglite.db, 'u-old'))!.passwordHash;
    assert.notEqual(upgraded, weak);
    const params = Object.fromEntries(upgraded.split('$')[3]!.split(',').map((pair) => pair.split('=') as [string, string]));
    assert.ok(upgraded.startsWith('$argon2id$'));
    assert.deepEqual(params, { m: '19456', t: '2', p: '1' });
    assert.equal(await argon2.verify(upgraded, password), true);
  });

  it('leaves the hash alone after a failed login', async () => {
    const weak = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await addUser('u-fail', 'fails', weak);
    assert.deepEqual(await authenticateUser({ db: pglite.db, log }, 'fails', 'wrong password'), { ok: false });
    assert.equal((await findUserBySub(pglite.db, 'u-fail'))!.passwordHash, weak);
  });

  it('refuses disabled and unknown users the same way, usernames matched case-insensitively', async () => {
    const hash = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });
    await addUser('u-off', 'disabled-user', hash, true);
    await addUser('u-on', 'Carol', hash);
    assert.deepEqual(await authenticateUser({ db: pglite.db, log }, 'disabled-user', password), { ok: false });
    assert.deepEqual(await authenticateUser({ db: pglite.db, log }, 'nobody', password), { ok: false });
    assert.deepEqual(await authenticateUser({ db: pglite.db, log }, 'carol', password), { ok: true, sub: 'u-on' });
  });
});
