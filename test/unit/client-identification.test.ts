// When a request to the token, introspection or revocation endpoint identifies no client
// (namesNoClient in src/oidc/client-auth-errors.ts), Portcullis answers 401 invalid_client with a
// challenge (RFC 6749 §5.2, RFC 7662 §2.3) where the library answers 400 invalid_request. The
// decision is read from the request, so it must hold for exactly the requests that carry no
// client identity by any mechanism of RFC 6749 §2.3 / RFC 7523 §2.2, and for no other.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { basicHeaderNamesNoClient } from '../../src/http/basic-credentials.js';
import { namesNoClient } from '../../src/oidc/client-auth-errors.js';

const basic = (pair: string) => `Basic ${Buffer.from(pair).toString('base64')}`;
const someText = fc.string({ minLength: 1, maxLength: 30 });

describe('namesNoClient: a request that identifies no client', () => {
  it('nothing at all, or only a client_secret, names no client', () => {
    assert.equal(namesNoClient({}, undefined), true);
    assert.equal(namesNoClient({ client_id: '' }, undefined), true);
    assert.equal(namesNoClient({ client_assertion: '' }, undefined), true, 'an empty parameter counts as absent, as the library reads it');
    assert.equal(namesNoClient({ client_secret: 'x', grant_type: 'client_credentials' }, undefined), true);
  });

  it('a Basic header with an empty id names no client; any other Authorization header does', () => {
    fc.assert(
      fc.property(someText, (secret) => {
        assert.equal(namesNoClient({}, basic(`:${secret}`)), true);
        assert.equal(namesNoClient({}, basic(`id${secret.replace(/:/g, '')}:${secret}`)), false);
      }),
    );
    assert.equal(namesNoClient({}, 'Bearer abc'), false);
    assert.equal(namesNoClient({}, 'Basic !!!'), false);
    assert.equal(namesNoClient({}, ''), false, 'an empty header is still a header the library refuses on its own');
  });

  it('any client_id or client_assertion names a client, repeated ones too (the library refuses those itself)', () => {
    fc.assert(
      fc.property(someText, (value) => {
        assert.equal(namesNoClient({ client_id: value }, undefined), false);
        assert.equal(namesNoClient({ client_assertion: value }, undefined), false);
        assert.equal(namesNoClient({ client_id: [value, value] }, undefined), false);
      }),
    );
  });
});

describe('basicHeaderNamesNoClient', () => {
  it('is true only for a Basic header whose decoded id part is empty, in any case of the scheme', () => {
    assert.equal(basicHeaderNamesNoClient(basic(':secret')), true);
    assert.equal(basicHeaderNamesNoClient(basic(':secret').replace('Basic', 'bAsIc')), true);
    assert.equal(basicHeaderNamesNoClient(basic('client:secret')), false);
    assert.equal(basicHeaderNamesNoClient(basic('client')), false);
    assert.equal(basicHeaderNamesNoClient(`Bearer ${Buffer.from(':x').toString('base64')}`), false);
  });
});
