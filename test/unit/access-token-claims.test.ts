// The claim set both paths sign (src/tokens/claims.ts): the library's order
// (oidc-provider/lib/models/formats/jwt.js: extra claims, then jti, sub, iat, exp, scope, client_id, iss, aud)
// and what the revocation state reads back from a verified token.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accessTokenClaims, tokenIdentity } from '../../src/tokens/claims.js';

describe('access token claims', () => {
  const content = {
    extra: { iat_ms: 1_700_000_000_456, act: { sub: 'orders-service' } },
    jti: 'jti-1',
    sub: 'alice',
    iat: 1_700_000_000,
    lifetime: 300,
    scope: 'stock.read',
    clientId: 'orders-service',
    issuer: 'https://issuer.test',
    audience: 'https://api.test/inventory',
  };

  it('puts the private claims first, then the RFC 9068 §2.2 claims in the library order', () => {
    const claims = accessTokenClaims(content);
    assert.deepEqual(Object.keys(claims), ['iat_ms', 'act', 'jti', 'sub', 'iat', 'exp', 'scope', 'client_id', 'iss', 'aud']);
    assert.equal(claims.exp, 1_700_000_300);
    assert.equal(claims.aud, 'https://api.test/inventory');
  });

  it('leaves out an empty scope, as the library does', () => {
    assert.equal('scope' in JSON.parse(JSON.stringify(accessTokenClaims({ ...content, scope: '' }))), false);
  });

  it('names a token for the revocation state by jti, ms issue time, sub, client, grant and lineage', () => {
    assert.deepEqual(
      tokenIdentity({
        jti: 'jti-1',
        iat: 1_700_000_000,
        exp: 1_700_000_300,
        iat_ms: 1_700_000_000_456,
        sub: 'alice',
        client_id: 'orders-service',
        gid: 'grant-1',
        exchanged_from: [{ jti: 'jti-0', client_id: 'web-app' }],
      }),
      {
        jti: 'jti-1',
        issuedAt: 1_700_000_000_456,
        sub: 'alice',
        clientId: 'orders-service',
        grantId: 'grant-1',
        exchangedFrom: [{ jti: 'jti-0', clientId: 'web-app' }],
      },
    );
    // Without iat_ms, the first millisecond of the `iat` second (fails closed).
    assert.equal(tokenIdentity({ jti: 'j', iat: 1_700_000_000, exp: 1_700_000_300 }).issuedAt, 1_700_000_000_000);
  });
});
