// The rule "what authentication does this request need, and does the session meet it"
// (src/oidc/authentication-requirements.ts), and the lock page's wording of a wait.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acr, assessSession, authenticationLevel, requiredAuthentication } from '../../src/oidc/authentication-requirements.js';
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
    assert.deepEqual(assessSession(passwordSession, fresh, now), { satisfied: false, shortfall: 'reauthenticate' });
    assert.deepEqual(assessSession({ acr: undefined, amr: undefined, authTime: undefined }, requiredAuthentication(none), now), {
      satisfied: false,
      shortfall: 'reauthenticate',
    });
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
