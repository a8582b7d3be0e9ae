// The rule "what authentication does this request need, and does the session meet it"
// (src/oidc/authentication-requirements.ts), how the interaction policy and the step-up page read
// it (config/interaction-policy.ts, interactions/second-factor.ts), and the lock page's wording of
// a wait.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Catalog } from '../../src/catalog/catalog.js';
import {
  acr,
  assessSession,
  authenticationLevel,
  requestedByParameters,
  requiredAuthentication,
} from '../../src/oidc/authentication-requirements.js';
import { createInteractionPolicy, reauthenticationReason, stepUpReason } from '../../src/oidc/config/interaction-policy.js';
import { createRefreshTokenRotation } from '../../src/oidc/config/refresh-step-up.js';
import type { Audit } from '../../src/audit/audit.js';
import { stepUpAccount } from '../../src/interactions/second-factor.js';
import { describeWait } from '../../src/interactions/wait-time.js';

const none = { clientRequiresMfa: false, userRequiresMfa: false, acrValues: undefined, maxAge: undefined };
const now = 1_800_000_000;

describe('authentication requirements', () => {
  it('needs a password unless the client, the user or acr_values ask for a second factor', () => {
    assert.deepEqual(requiredAuthentication(none), { level: 'password', sources: [], maxAgeSeconds: undefined });
    assert.deepEqual(requiredAuthentication({ ...none, clientRequiresMfa: true }).sources, ['client']);
    assert.deepEqual(requiredAuthentication({ ...none, userRequiresMfa: true }).sources, ['user']);
    assert.equal(requiredAuthentication({ ...none, acrValues: acr.mfa }).level, 'mfa');
  });

  it('reads acr_values as voluntary: the weakest known class, unknown classes ignored', () => {
    assert.equal(requiredAuthentication({ ...none, acrValues: `${acr.mfa} ${acr.password}` }).level, 'password');
    assert.equal(requiredAuthentication({ ...none, acrValues: 'urn:example:gold' }).level, 'password');
    assert.equal(requiredAuthentication({ ...none, acrValues: `urn:example:gold ${acr.mfa}` }).level, 'mfa');
  });

  it('reads max_age in seconds and ignores a value that is not one', () => {
    assert.equal(requiredAuthentication({ ...none, maxAge: '300' }).maxAgeSeconds, 300);
    assert.equal(requiredAuthentication({ ...none, maxAge: 0 }).maxAgeSeconds, 0);
    assert.equal(requiredAuthentication({ ...none, maxAge: 'soon' }).maxAgeSeconds, undefined);
  });

  it('takes the level from amr (RFC 8176) or the acr', () => {
    assert.equal(authenticationLevel({ acr: acr.password, amr: ['pwd'] }), 'password');
    assert.equal(authenticationLevel({ acr: undefined, amr: ['pwd', 'otp'] }), 'mfa');
    assert.equal(authenticationLevel({ acr: undefined, amr: ['pwd', 'mfa'] }), 'mfa');
    assert.equal(authenticationLevel({ acr: acr.mfa, amr: undefined }), 'mfa');
  });

  it('asks a password session to step up for a second factor, and an old one to sign in again', () => {
    const mfa = requiredAuthentication({ ...none, clientRequiresMfa: true });
    const passwordSession = { acr: acr.password, amr: ['pwd'], authTime: now - 60 };
    assert.deepEqual(assessSession(passwordSession, mfa, now), { satisfied: false, shortfall: 'second_factor' });
    assert.deepEqual(assessSession({ ...passwordSession, acr: acr.mfa, amr: ['pwd', 'otp'] }, mfa, now), { satisfied: true });
    assert.deepEqual(assessSession(passwordSession, requiredAuthentication(none), now), { satisfied: true });
    const fresh = requiredAuthentication({ ...none, clientRequiresMfa: true, maxAge: 30 });
    assert.deepEqual(assessSession(passwordSession, fresh, now), { satisfied: false, shortfall: 'reauthenticate', cause: 'max_age' });
    assert.deepEqual(assessSession({ acr: undefined, amr: undefined, authTime: undefined }, requiredAuthentication(none), now), {
      satisfied: false,
      shortfall: 'reauthenticate',
      cause: 'unknown_time',
    });
  });

  it('regression: an essential acr in the claims request parameter is ignored by requiredAuthentication', () => {
    const claims = (acrRequest: unknown) => JSON.stringify({ id_token: { acr: acrRequest } });
    assert.deepEqual(requiredAuthentication({ ...none, claims: claims({ essential: true, value: acr.mfa }) }).sources, ['claims']);
    assert.equal(requiredAuthentication({ ...none, claims: claims({ essential: true, values: [acr.mfa] }) }).level, 'mfa');
    assert.equal(requiredAuthentication({ ...none, claims: claims({ values: [acr.mfa] }) }).level, 'mfa', 'voluntary, as acr_values are');
    assert.equal(requiredAuthentication({ ...none, claims: claims({ essential: true, values: [acr.mfa, acr.password] }) }).level, 'password');
    assert.equal(requiredAuthentication({ ...none, claims: claims({ essential: true, value: 'urn:example:gold' }) }).level, 'password');
    for (const unreadable of ['not json', '[]', '{"id_token":{"acr":null}}', claims({ essential: true, values: 'not a list' })]) {
      assert.equal(requiredAuthentication({ ...none, claims: unreadable }).level, 'password', unreadable);
    }
    // Both ways of asking, from one request's parameters.
    const params = { acr_values: acr.mfa, claims: claims({ essential: true, value: acr.mfa }), max_age: 60 };
    assert.deepEqual(requestedByParameters(params), { acrValues: acr.mfa, claims: params.claims, maxAge: 60 });
    assert.deepEqual(requiredAuthentication({ ...none, ...requestedByParameters(params) }).sources, ['acr_values', 'claims']);
  });

  it('regression: essential_acr / essential_acrs reasons are answered by the step-up page only with ours', () => {
    const interaction = (reasons: string[]) =>
      ({ prompt: { name: 'login', reasons, details: {} }, session: { accountId: 'sub-1' } }) as unknown as Parameters<typeof stepUpAccount>[0];
    assert.equal(stepUpAccount(interaction([stepUpReason])), 'sub-1');
    assert.equal(stepUpAccount(interaction(['essential_acr', stepUpReason])), 'sub-1');
    assert.equal(stepUpAccount(interaction([stepUpReason, 'essential_acrs'])), 'sub-1');
    // Alone they ask for a class a second factor does not give (an unknown one): a full login.
    assert.equal(stepUpAccount(interaction(['essential_acr'])), undefined);
    assert.equal(stepUpAccount(interaction([stepUpReason, 'max_age'])), undefined);
    assert.equal(stepUpAccount(interaction([stepUpReason, reauthenticationReason])), undefined);
  });
});

describe('interaction policy: the session against the requirement', () => {
  const catalog = {
    findClient: async () => ({ metadata: { require_mfa: true } }),
    findUser: async () => ({ mfaRequired: false }),
  } as unknown as Catalog;
  const login = createInteractionPolicy(catalog).get('login')!;

  /** Which of our two checks ask for the login prompt, for a session and request. */
  async function promptReasons(
    session: { acr?: string; amr?: string[]; loginTs?: number },
    request: { params?: Record<string, unknown>; result?: unknown } = {},
  ): Promise<string[]> {
    const ctx = {
      oidc: {
        session: { accountId: 'sub-1', acr: session.acr, amr: session.amr, authTime: () => session.loginTs },
        account: { accountId: 'sub-1' },
        client: { clientId: 'strict' },
        params: request.params ?? {},
        result: request.result,
      },
    } as unknown as KoaContextWithOIDC;
    const reasons: string[] = [];
    for (const reason of [stepUpReason, reauthenticationReason]) {
      if (await login.checks.get(reason)!.check(ctx)) reasons.push(reason);
    }
    return reasons;
  }

  const nowSeconds = () => Math.floor(Date.now() / 1000);

  it('steps a password session up, and lets an mfa session through', async () => {
    assert.deepEqual(await promptReasons({ acr: acr.password, amr: ['pwd'], loginTs: nowSeconds() }), [stepUpReason]);
    assert.deepEqual(await promptReasons({ acr: acr.mfa, amr: ['pwd', 'otp'], loginTs: nowSeconds() }), []);
  });

  it('regression: the step-up check fails open when a session has an account but no authTime', async () => {
    // Neither a pass nor a step-up (a code alone must not vouch for a sign-in of unknown age): a full login.
    assert.deepEqual(await promptReasons({ acr: acr.password, amr: ['pwd'] }), [reauthenticationReason]);
    assert.deepEqual(await promptReasons({ acr: acr.mfa, amr: ['pwd', 'otp'] }), [reauthenticationReason]);
  });

  it('leaves a session older than max_age to the library, except right after a step-up that kept the earlier time', async () => {
    const old = { acr: acr.mfa, amr: ['pwd', 'otp'], loginTs: nowSeconds() - 3600 };
    const params = { max_age: 300 };
    // The library's max_age check asks for the login (oidc-provider/lib/helpers/interaction_policy/prompts/login.js).
    assert.deepEqual(await promptReasons(old, { params }), []);
    // After a full login (no ts: recorded as now) the library trusts it; so do we.
    assert.deepEqual(await promptReasons(old, { params, result: { login: { accountId: 'sub-1' } } }), []);
    // After a step-up that kept an earlier time which is past max_age: the password again.
    assert.deepEqual(await promptReasons(old, { params, result: { login: { accountId: 'sub-1', ts: old.loginTs } } }), [reauthenticationReason]);
  });
});

describe('refresh grant: the refresh token against the requirement', () => {
  const audited: { type: string; details?: Record<string, unknown> }[] = [];
  const audit: Audit = { record: async (event) => void audited.push(event) };
  const catalog = (requireMfa: boolean, mfaRequired: boolean) =>
    ({ findClient: async () => ({ metadata: { require_mfa: requireMfa } }), findUser: async () => ({ mfaRequired }) }) as unknown as Catalog;
  const refreshing = (token: { acr?: string; amr?: string[]; authTime?: number } | undefined) =>
    ({ oidc: { entities: { RefreshToken: token && { accountId: 'sub-1', ...token } }, client: { clientId: 'web' } } }) as unknown as KoaContextWithOIDC;
  const signedIn = Math.floor(Date.now() / 1000) - 3600;
  const refusal = async (promise: Promise<unknown>) => {
    const error = (await promise.then(
      () => assert.fail('refused'),
      (caught: unknown) => caught,
    )) as { error?: string; error_description?: string };
    assert.equal(error.error, 'invalid_grant');
    return error.error_description;
  };

  it('rotates (true) a token whose sign-in meets the requirement', async () => {
    const rotate = createRefreshTokenRotation({ catalog: catalog(false, false), audit });
    assert.equal(await rotate(refreshing({ acr: acr.password, amr: ['pwd'], authTime: signedIn })), true);
    const strict = createRefreshTokenRotation({ catalog: catalog(true, true), audit });
    assert.equal(await strict(refreshing({ acr: acr.mfa, amr: ['pwd', 'otp'], authTime: signedIn })), true);
  });

  it('refuses with invalid_grant a password-only token, a token of unknown sign-in time, and no token at all', async () => {
    const byUser = createRefreshTokenRotation({ catalog: catalog(false, true), audit });
    assert.equal(await refusal(byUser(refreshing({ acr: acr.password, amr: ['pwd'], authTime: signedIn }))), 'the user must sign in again with a second factor');
    assert.deepEqual(audited.at(-1), {
      type: 'refresh_token_refused',
      outcome: 'failure',
      clientId: 'web',
      sub: 'sub-1',
      details: { reason: 'second factor required', second_factor_required_by: ['user'] },
    });
    const plain = createRefreshTokenRotation({ catalog: catalog(false, false), audit });
    assert.match((await refusal(plain(refreshing({ acr: acr.mfa, amr: ['pwd', 'otp'] }))))!, /^the user must sign in again \(the time/);
    assert.equal(await refusal(plain(refreshing(undefined))), 'grant request is invalid');
  });
});

describe('lock wait wording', () => {
  it('rounds up to seconds, minutes or hours', () => {
    assert.equal(describeWait(1), '1 second');
    assert.equal(describeWait(59), '59 seconds');
    assert.equal(describeWait(60), '1 minute');
    assert.equal(describeWait(61), '2 minutes');
    assert.equal(describeWait(900), '15 minutes');
    assert.equal(describeWait(3600), '1 hour');
    assert.equal(describeWait(5400), '2 hours');
  });
});
