// TOTP second factor: enrolment (QR code, secret, recovery codes), codes accepted once,
// recovery codes, amr/acr in the ID token, per-user and per-client requirement, admin reset.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { generate } from 'otplib';
import { adminRequest, basicAuth, createUser, getAdminToken } from '../helpers/admin.js';
import { BrowserlessUser, type FlowStep } from '../helpers/http-login.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';

const callback = 'https://app.example.test/callback';
const password = 'second factor password';

describe(`TOTP second factor (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: string;
  let secret: string;
  let sub: string;
  let totpSecret: string;
  let recoveryCodes: string[];

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    admin = await getAdminToken(server.url);
    const client = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: 'mfa-web',
      grant_types: ['authorization_code'],
      redirect_uris: [callback],
      scope: 'openid',
      first_party: true,
    });
    secret = client.client_secret as string;
    await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: 'strict-web',
      grant_types: ['authorization_code'],
      redirect_uris: [callback],
      token_endpoint_auth_method: 'none',
      scope: 'openid',
      first_party: true,
      require_mfa: true,
    });
    sub = await createUser(server.url, admin, { username: 'jo', password, mfa_required: true });
    await createUser(server.url, admin, { username: 'kim', password });
  });
  after(() => env.cleanup());

  async function startLogin(clientId = 'mfa-web') {
    const verifier = crypto.randomBytes(32).toString('base64url');
    const url = new URL(`${server.url}/auth`);
    url.search = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: callback,
      scope: 'openid',
      code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const user = new BrowserlessUser(callback);
    const page = await user.open(url.href);
    const uid = /\/interaction\/([^/?#]+)/.exec(page.url)![1]!;
    return { user, page, uid, verifier };
  }

  async function redeem(step: FlowStep, verifier: string): Promise<Record<string, unknown>> {
    assert.ok(step.location?.startsWith(callback), `back at the client: ${step.status} ${step.body.slice(0, 200)}`);
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth('mfa-web', secret) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: new URL(step.location!).searchParams.get('code')!, code_verifier: verifier, redirect_uri: callback }),
    });
    const body = (await response.json()) as { id_token?: string };
    assert.ok(body.id_token, JSON.stringify(body));
    return decodeJwt(body.id_token);
  }

  it('enrols a user who must use a second factor: QR code, secret, recovery codes, then a code', async () => {
    const { user, page, uid, verifier } = await startLogin();
    const enrol = await user.submit(page, `/interaction/${uid}/login`, { username: 'jo', password });
    assert.equal(enrol.status, 200);
    assert.match(enrol.body, /<svg/, 'a QR code, inline');
    totpSecret = /<code class="secret">([A-Z2-7]+)<\/code>/.exec(enrol.body)![1]!;
    recoveryCodes = [...enrol.body.matchAll(/<li><code>([A-Z0-9-]{19})<\/code><\/li>/g)].map((match) => match[1]!);
    assert.equal(recoveryCodes.length, 10);

    const wrong = await user.submit(enrol, `/interaction/${uid}/mfa`, { code: '000000' });
    assert.match(wrong.body, /Invalid code\./);
    const done = await user.submit(wrong, `/interaction/${uid}/mfa`, { code: await generate({ secret: totpSecret }) });
    const claims = await redeem(done, verifier);
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    assert.equal(claims.acr, 'urn:portcullis:acr:mfa');
    const read = await adminRequest(server.url, admin, 'GET', `/admin/users/${sub}`);
    assert.equal(read.mfa_enrolled, true);
    assert.ok(!JSON.stringify(read).includes(totpSecret), 'the secret is never returned');
  });

  it('accepts a code once (RFC 6238 §5.2) and a recovery code once', async () => {
    const { user, page, uid, verifier } = await startLogin();
    const challenge = await user.submit(page, `/interaction/${uid}/login`, { username: 'jo', password });
    assert.match(challenge.body, /Enter your code/);
    const replay = await user.submit(challenge, `/interaction/${uid}/mfa`, { code: await generate({ secret: totpSecret }) });
    assert.match(replay.body, /Invalid code\./, 'the code already used is refused');
    const recovered = await user.submit(replay, `/interaction/${uid}/mfa`, { recovery_code: recoveryCodes[0]!.toLowerCase() });
    const claims = await redeem(recovered, verifier);
    assert.deepEqual(claims.amr, ['pwd', 'mfa']);

    const again = await startLogin();
    const page2 = await again.user.submit(again.page, `/interaction/${again.uid}/login`, { username: 'jo', password });
    const reused = await again.user.submit(page2, `/interaction/${again.uid}/mfa`, { recovery_code: recoveryCodes[0]! });
    assert.match(reused.body, /Invalid code\./, 'a recovery code works once');
  });

  it('requires a second factor for every user of a client with require_mfa', async () => {
    const { user, page, uid } = await startLogin('strict-web');
    const enrol = await user.submit(page, `/interaction/${uid}/login`, { username: 'kim', password });
    assert.match(enrol.body, /Set up two-step verification/);
    assert.equal(enrol.location, undefined, 'no code before the second factor');
  });

  it('lets an admin reset a lost authenticator', async () => {
    const response = await fetch(`${server.url}/admin/users/${sub}/mfa`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(response.status, 204);
    const read = await adminRequest(server.url, admin, 'GET', `/admin/users/${sub}`);
    assert.equal(read.mfa_enrolled, false);
    const { user, page, uid } = await startLogin();
    const enrol = await user.submit(page, `/interaction/${uid}/login`, { username: 'jo', password });
    assert.match(enrol.body, /Set up two-step verification/, 'enrols again');
  });
});
