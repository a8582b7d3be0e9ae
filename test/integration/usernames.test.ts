// Usernames are compared in one normalised form (NFKC, one case fold) for the lookup, the
// uniqueness and the login throttle alike; look-alikes are refused at creation. Before, Postgres'
// lower() found "iris-x" for "İris-x" while the throttle counted "İris-x" as a fresh name, so a
// look-alike spelling walked past the lock on the real account.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { adminRequest, createUser, getAdminToken, registerPublicWebClient } from '../helpers/admin.js';
import type { FlowStep } from '../helpers/http-login.js';
import { callback, startLogin } from '../helpers/mfa-flow.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';

const password = 'the right password';
const clientId = 'usernames-web';

describe(`usernames (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: string;
  let irisSub: string;

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start({ LOGIN_MAX_FAILURES: '3' });
    admin = await getAdminToken(server.url);
    await registerPublicWebClient(server.url, admin, clientId, callback);
    irisSub = await createUser(server.url, admin, { username: 'iris-x', password });
  });
  after(() => env.cleanup());

  function adminCall(method: string, path: string, body: unknown): Promise<Response> {
    return fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  /** One password attempt in a fresh browser; the sub signed in as, if it came to that. */
  async function signIn(username: string, secret: string): Promise<{ answer: FlowStep; sub: string | undefined }> {
    const { user, page, uid, verifier } = await startLogin(server.url, clientId);
    const answer = await user.submit(page, `/interaction/${uid}/login`, { username, password: secret });
    if (!answer.location?.startsWith(callback)) return { answer, sub: undefined };
    const code = new URL(answer.location).searchParams.get('code');
    assert.ok(code, `a code in ${answer.location}`);
    const token = await fetch(`${server.url}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback, client_id: clientId }),
    });
    const body = (await token.json()) as { id_token?: string };
    assert.equal(token.status, 200, JSON.stringify(body));
    return { answer, sub: decodeJwt(body.id_token!).sub };
  }

  it('regression: Unicode look-alike usernames dodged the lock on Postgres — "İris-x" with the right password never signs in as a locked iris-x', async () => {
    for (const attempt of [1, 2, 3]) {
      const { answer } = await signIn('iris-x', `wrong ${attempt}`);
      assert.equal(answer.status, 200, `failure ${attempt}`);
    }
    const locked = await signIn('iris-x', password);
    assert.equal(locked.answer.status, 429, 'iris-x is locked');

    const lookalike = await signIn('İris-x', password);
    assert.equal(lookalike.sub, undefined, 'no session for anyone');
    assert.ok([200, 429].includes(lookalike.answer.status), `refused as unknown or locked, got ${lookalike.answer.status}`);
    assert.equal(lookalike.answer.location, undefined, 'no code');

    // Case variants are the same name: the same account and the same lock.
    for (const variant of ['IRIS-X', 'Iris-X', 'ｉｒｉｓ-ｘ']) {
      const attempt = await signIn(variant, password);
      assert.equal(attempt.answer.status, 429, `${variant} shares the lock`);
      assert.equal(attempt.sub, undefined);
    }
  });

  it('regression: creating or renaming to a look-alike of an existing username is 409 with the reason', async () => {
    const lookalike = await adminCall('POST', '/admin/users', { username: 'İris-x', password });
    assert.equal(lookalike.status, 409);
    const body = (await lookalike.json()) as { error: string; error_description: string };
    assert.equal(body.error, 'conflict');
    assert.match(body.error_description, /"İris-x" looks like the existing username "iris-x"/);

    for (const same of ['IRIS-X', 'ｉｒｉｓ-ｘ']) {
      const taken = await adminCall('POST', '/admin/users', { username: same, password });
      assert.equal(taken.status, 409, same);
      assert.match(((await taken.json()) as { error_description: string }).error_description, /is taken/);
    }

    const other = await createUser(server.url, admin, { username: 'ines-q', password });
    const rename = await adminCall('PUT', `/admin/users/${other}`, { username: 'Îris-x' });
    assert.equal(rename.status, 409);
    assert.match(((await rename.json()) as { error_description: string }).error_description, /looks like the existing username "iris-x"/);
    const stillThere = await adminRequest(server.url, admin, 'GET', `/admin/users/${other}`);
    assert.equal(stillThere.username, 'ines-q', 'a refused rename changes nothing');
  });

  it('creates exactly one of many look-alike names sent in parallel (the unique keys decide, not a read before the write)', async () => {
    const variants = ['Zoë-p', 'zoe-p', 'ZOE-P', 'Zoé-p', 'ｚｏｅ-ｐ', 'zoë-p', 'Zóe-p', 'zoe-P'];
    const answers = await Promise.all(
      [...variants, ...variants].map((username) => adminCall('POST', '/admin/users', { username, password })),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    assert.deepEqual(statuses, [201, ...Array<number>(variants.length * 2 - 1).fill(409)]);
  });

  it('signs in by any case of the username, and shows the username as typed', async () => {
    const sub = await createUser(server.url, admin, { username: 'Oskar-Z', password });
    assert.notEqual(sub, irisSub);
    const signedIn = await signIn('OSKAR-Z', password);
    assert.equal(signedIn.sub, sub, 'OSKAR-Z is Oskar-Z');
    assert.equal((await signIn('ｏｓｋａｒ-ｚ', password)).sub, sub, 'fullwidth letters are the same name (NFKC)');
    assert.equal((await adminRequest(server.url, admin, 'GET', `/admin/users/${sub}`)).username, 'Oskar-Z');

    // A rename to another case of its own name is no conflict, and the new spelling is shown.
    const renamed = await adminRequest(server.url, admin, 'PUT', `/admin/users/${sub}`, { username: 'oskar-z' });
    assert.equal(renamed.username, 'oskar-z');
    assert.equal((await signIn('Oskar-Z', password)).sub, sub);
    // A profile change leaves the name alone.
    assert.equal((await adminRequest(server.url, admin, 'PUT', `/admin/users/${sub}`, { name: 'Oskar' })).username, 'oskar-z');
  });
});
