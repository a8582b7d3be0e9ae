// How the fast paths read a token request's client credentials (presentedCredentials in
// src/oidc/fast-path/client-authentication.ts): exactly one mechanism (RFC 6749 §2.3.1 Basic or
// form fields, RFC 7523 §2.2 client_assertion), taken only in forms that mean the same before and
// after form-URL-decoding. Everything else is "not for me" (undefined): the library reads it and
// answers it. So the property that matters is that what is read is exactly what was sent.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import Koa, { type Context } from 'koa';
import { presentedCredentials } from '../../src/oidc/fast-path/client-authentication.js';

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A real Koa context for a request with these headers (presentedCredentials reads Authorization). */
function contextWith(headers: Record<string, string>): Context {
  const req = new http.IncomingMessage(new net.Socket());
  req.method = 'POST';
  req.url = '/token';
  req.headers = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return new Koa().createContext(req, new http.ServerResponse(req));
}

const basicOf = (pair: string) => ({ authorization: `Basic ${Buffer.from(pair).toString('base64')}` });
/** An unsigned JWT with these claims: presentedCredentials only decodes (verifyClient verifies). */
const jwtWith = (claims: Record<string, unknown>) =>
  [{ alg: 'ES256' }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + '.c2ln';

const unreservedChar = fc.constantFrom(...'ABCXYZabcxyz0189._~-');
const unreserved = fc.string({ unit: unreservedChar, minLength: 1, maxLength: 40 });
/** Characters form-URL-decoding changes or that need encoding (RFC 3986 §2.2, §2.1). */
const special = fc.constantFrom('%', '+', ' ', ':', '/', '?', '#', '&', '=', 'é', '%41', '%3A');
const withSpecial = fc.tuple(unreserved, special, fc.string({ unit: unreservedChar, maxLength: 5 })).map(([a, b, c]) => a + b + c);

describe('presentedCredentials: the client credentials of a token request', () => {
  it('client_secret_basic: id and secret of unreserved characters are taken as sent, any secret length', () => {
    fc.assert(
      fc.property(unreserved, unreserved, (id, secret) => {
        assert.deepEqual(presentedCredentials(contextWith(basicOf(`${id}:${secret}`)), {}), { clientId: id, method: 'client_secret_basic', secret });
        // A form client_id that repeats the header's is allowed (RFC 6749 §2.3.1 does not forbid it).
        assert.equal(presentedCredentials(contextWith(basicOf(`${id}:${secret}`)), { client_id: id })?.clientId, id);
      }),
      { numRuns: 200, seed: 16 },
    );
  });

  it('client_secret_basic with anything form-URL-decoding would change (%-escapes, +, space, colon...): left to the library', () => {
    fc.assert(
      fc.property(unreserved, withSpecial, fc.boolean(), (plain, odd, oddInId) => {
        const pair = oddInId ? `${odd}:${plain}` : `${plain}:${odd}`;
        // A colon in the id moves the split, so that pair names another id: refused just the same.
        assert.equal(presentedCredentials(contextWith(basicOf(pair)), {}), undefined, pair);
      }),
      { numRuns: 200, seed: 16 },
    );
  });

  it('malformed Basic headers are left to the library', () => {
    const encoded = Buffer.from('svc:secret').toString('base64');
    for (const authorization of [
      `basic ${encoded}`,
      `Basic  ${encoded}`,
      `Basic ${encoded} `,
      `Bearer ${encoded}`,
      'Basic',
      'Basic =',
      `Basic ${Buffer.from(':secret').toString('base64')}`,
      `Basic ${Buffer.from('svc').toString('base64')}`,
      `Basic ${Buffer.from('svc:').toString('base64')}`,
      `Basic ${encoded.replace(/=+$/, '')}x`,
    ]) {
      assert.equal(presentedCredentials(contextWith({ authorization }), {}), undefined, authorization);
    }
    // Non-canonical base64 ('c3ZjOnM=' is canonical for "svc:s"; 'c3ZjOnN=' decodes to the same bytes).
    assert.equal(presentedCredentials(contextWith({ authorization: 'Basic c3ZjOnM=' }), {})?.secret, 's');
    assert.equal(presentedCredentials(contextWith({ authorization: 'Basic c3ZjOnN=' }), {}), undefined);
  });

  it('two mechanisms at once, or a form client_id that contradicts the header: left to the library (it refuses them)', () => {
    const header = basicOf('svc:secret');
    assert.equal(presentedCredentials(contextWith(header), { client_secret: 'secret' }), undefined);
    assert.equal(presentedCredentials(contextWith(header), { client_assertion: jwtWith({ sub: 'svc' }), client_assertion_type: assertionType }), undefined);
    assert.equal(presentedCredentials(contextWith(header), { client_id: 'other' }), undefined);
    assert.equal(
      presentedCredentials(contextWith({}), { client_id: 'svc', client_secret: 's', client_assertion: jwtWith({ sub: 'svc' }), client_assertion_type: assertionType }),
      undefined,
    );
  });

  it('client_secret_post: client_id and client_secret from the form, taken as parsed (the form is already decoded)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (id, secret) => {
        assert.deepEqual(presentedCredentials(contextWith({}), { client_id: id, client_secret: secret }), { clientId: id, method: 'client_secret_post', secret });
      }),
      { numRuns: 100, seed: 16 },
    );
    const refused: Record<string, string>[] = [{ client_secret: 'secret' }, { client_id: '', client_secret: 'secret' }, { client_id: 'svc', client_secret: '' }];
    for (const form of refused) {
      assert.equal(presentedCredentials(contextWith({}), form), undefined, JSON.stringify(form));
    }
  });

  it('private_key_jwt: the client is the assertion\'s sub, with the RFC 7523 assertion type only', () => {
    const assertion = jwtWith({ iss: 'svc', sub: 'svc', aud: 'https://issuer.test', jti: 'j', exp: 1 });
    assert.deepEqual(presentedCredentials(contextWith({}), { client_assertion: assertion, client_assertion_type: assertionType }), {
      clientId: 'svc',
      method: 'private_key_jwt',
      assertion,
    });
    assert.equal(presentedCredentials(contextWith({}), { client_id: 'svc', client_assertion: assertion, client_assertion_type: assertionType })?.clientId, 'svc');
    const refused: Record<string, string>[] = [
      { client_assertion: assertion },
      { client_assertion: assertion, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' },
      { client_assertion: assertion, client_assertion_type: assertionType, client_id: 'other' },
      { client_assertion: 'not-a-jwt', client_assertion_type: assertionType },
      { client_assertion: jwtWith({ iss: 'svc' }), client_assertion_type: assertionType },
      { client_assertion: jwtWith({ sub: '' }), client_assertion_type: assertionType },
      { client_assertion: jwtWith({ sub: 42 }), client_assertion_type: assertionType },
    ];
    for (const form of refused) {
      assert.equal(presentedCredentials(contextWith({}), form), undefined, JSON.stringify(form));
    }
  });

  it('no credentials, or only a client_id (a public client): nothing for the fast path', () => {
    assert.equal(presentedCredentials(contextWith({}), {}), undefined);
    assert.equal(presentedCredentials(contextWith({}), { client_id: 'public-app' }), undefined);
  });
});
