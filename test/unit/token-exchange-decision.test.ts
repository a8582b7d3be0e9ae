// The pure parts of the RFC 8693 exchange decision (src/tokens/delegation.ts,
// src/tokens/token-exchange.ts): who acts, the delegation chain and lineage and their depth,
// the result's lifetime, its private claims and response, and the refusals given before any
// token, revocation state or catalog entry is read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors } from 'oidc-provider';
import { addActor, admittedActor, chainDepth, chainOf, delegate, exchangeLifetime, isActClaim } from '../../src/tokens/delegation.js';
import {
  decideTokenExchange,
  exchangedTokenClaims,
  exchangeResponse,
  type ExchangeDecision,
  type TokenExchangeDeps,
} from '../../src/tokens/token-exchange.js';
import type { ResourceRecord } from '../../src/stores/resources.js';

const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';

const inventory: ResourceRecord = {
  identifier: 'https://api.test/inventory',
  name: 'Inventory',
  scopes: ['stock.read'],
  accessTokenTtl: 300,
  accessTokenFormat: 'jwt',
  dpopBoundAccessTokens: false,
  clientId: 'inventory-service',
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

describe('delegation chains (RFC 8693 §4.1)', () => {
  it('puts the newest actor on top and nests the earlier ones', () => {
    const first = addActor('orders-service', undefined);
    const second = addActor('inventory-service', first);
    assert.deepEqual(second, { sub: 'inventory-service', act: { sub: 'orders-service' } });
    assert.equal(chainDepth(undefined), 0);
    assert.equal(chainDepth(second), 2);
    assert.deepEqual(chainOf(second), ['inventory-service', 'orders-service']);
  });

  it('reads only well-formed act claims', () => {
    assert.ok(isActClaim({ sub: 'a', act: { sub: 'b' } }));
    for (const value of [null, 'a', { act: { sub: 'b' } }, { sub: 1 }, { sub: 'a', act: { sub: 2 } }, { sub: 'a', act: 'b' }]) {
      assert.equal(isActClaim(value), false, JSON.stringify(value));
    }
  });

  it('admits an actor token of the caller about itself, or one the subject names in may_act (§4.4)', () => {
    assert.equal(admittedActor('orders-service', { sub: 'orders-service', clientId: 'orders-service' }, undefined), 'orders-service');
    assert.equal(admittedActor('orders-service', { sub: 'robot', clientId: 'robots' }, { sub: 'robot' }), 'robot');
    // The caller's token about someone else, another client's token about the caller, and a
    // may_act naming someone else are all refused.
    assert.equal(admittedActor('orders-service', { sub: 'alice', clientId: 'orders-service' }, undefined), undefined);
    assert.equal(admittedActor('orders-service', { sub: 'orders-service', clientId: 'other' }, undefined), undefined);
    assert.equal(admittedActor('orders-service', { sub: 'robot', clientId: 'robots' }, { sub: 'someone-else' }), undefined);
  });

  it('gives the result its act and its lineage, the subject token first', () => {
    const subject = {
      reference: 'jti-2',
      clientId: 'web-app',
      act: { sub: 'gateway' },
      exchangedFrom: [{ jti: 'jti-1', clientId: 'gateway' }, { clientId: 'login' }],
    };
    assert.deepEqual(delegate('orders-service', subject, 5), {
      ok: true,
      act: { sub: 'orders-service', act: { sub: 'gateway' } },
      exchangedFrom: [{ jti: 'jti-2', client_id: 'web-app' }, { jti: 'jti-1', client_id: 'gateway' }, { client_id: 'login' }],
    });
  });

  it('refuses a chain or lineage deeper than the configured maximum', () => {
    const shallow = { reference: 'j1', clientId: 'web-app', act: undefined, exchangedFrom: [] };
    assert.equal(delegate('a', shallow, 1).ok, true);
    const deepAct = { ...shallow, act: { sub: 'b' } };
    assert.deepEqual(delegate('a', deepAct, 1), { ok: false, reason: 'too_deep' });
    // An opaque hop leaves no act but still a lineage entry: the lineage counts too.
    const longLineage = { ...shallow, exchangedFrom: [{ jti: 'j0' }] };
    assert.deepEqual(delegate('a', longLineage, 1), { ok: false, reason: 'too_deep' });
  });

  it('lives no longer than the target API TTL nor than the subject token', () => {
    assert.equal(exchangeLifetime(300, 10_000, 9_000), 300);
    assert.equal(exchangeLifetime(300, 10_000, 9_900), 100);
    assert.ok(exchangeLifetime(300, 10_000, 10_000) <= 0);
  });
});

describe('the exchange decision', () => {
  const decision: ExchangeDecision = {
    api: inventory,
    scope: 'stock.read',
    lifetime: 120,
    subject: {
      reference: 'subject-jti',
      sub: 'alice',
      clientId: 'web-app',
      audiences: ['https://api.test/orders'],
      scopes: ['orders.read'],
      exp: 2_000_000_000,
      grantId: 'grant-1',
      act: undefined,
      mayAct: undefined,
      exchangedFrom: [],
    },
    act: { sub: 'orders-service' },
    exchangedFrom: [{ jti: 'subject-jti', client_id: 'web-app' }],
    jkt: undefined,
  };

  it('gives the exchanged token its private claims in the order both paths sign them', () => {
    const claims = exchangedTokenClaims(decision, 1_700_000_000_123);
    assert.deepEqual(Object.keys(claims), ['iat_ms', 'act', 'exchanged_from', 'gid']);
    assert.deepEqual(claims, {
      iat_ms: 1_700_000_000_123,
      act: { sub: 'orders-service' },
      exchanged_from: [{ jti: 'subject-jti', client_id: 'web-app' }],
      gid: 'grant-1',
    });
    const withoutGrant = exchangedTokenClaims({ ...decision, subject: { ...decision.subject, grantId: undefined } }, 1);
    assert.equal('gid' in withoutGrant, false);
  });

  it('answers with issued_token_type (RFC 8693 §2.2.1)', () => {
    assert.deepEqual(exchangeResponse('the-token', decision), {
      access_token: 'the-token',
      issued_token_type: accessTokenType,
      token_type: 'Bearer',
      expires_in: 120,
      scope: 'stock.read',
    });
  });

  // These refusals come from the request alone: nothing may be read to give them.
  const readsNothing = new Proxy({} as Omit<TokenExchangeDeps, 'audit'>, {
    get(_target, name) {
      throw new Error(`the decision read ${String(name)} before refusing`);
    },
  });

  async function refusal(params: Record<string, string | string[]>, clientAuthMethod = 'private_key_jwt') {
    const error = await decideTokenExchange(readsNothing, { clientId: 'orders-service', clientAuthMethod }, params).then(
      () => assert.fail('the exchange was allowed'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof errors.OIDCProviderError, String(error));
    return { error: error.error, description: error.error_description };
  }

  it('refuses a public client (RFC 8693 §2.1 leaves client authentication to policy)', async () => {
    assert.deepEqual(await refusal({ subject_token: 'a.b.c', subject_token_type: accessTokenType }, 'none'), {
      error: 'unauthorized_client',
      description: 'token exchange requires an authenticated client',
    });
  });

  it('refuses malformed requests with invalid_request', async () => {
    assert.deepEqual(await refusal({ subject_token: 'a.b.c', subject_token_type: accessTokenType, requested_token_type: 'urn:x' }), {
      error: 'invalid_request',
      description: `requested_token_type must be ${accessTokenType} or urn:ietf:params:oauth:token-type:jwt`,
    });
    assert.deepEqual(await refusal({ subject_token_type: accessTokenType }), {
      error: 'invalid_request',
      description: "missing required parameter 'subject_token'",
    });
    assert.deepEqual(await refusal({ subject_token: 'a.b.c', subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }), {
      error: 'invalid_request',
      description: `subject_token_type must be ${accessTokenType} or urn:ietf:params:oauth:token-type:jwt`,
    });
    assert.deepEqual(await refusal({ subject_token: ['a.b.c', 'd.e.f'], subject_token_type: accessTokenType }), {
      error: 'invalid_request',
      description: 'subject_token must be given once',
    });
  });
});
