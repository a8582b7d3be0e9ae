// The one scope rule (src/tokens/granted-scopes.ts) and the client-credentials decision on it
// (src/tokens/client-credentials.ts): what a client may get from an API, and how a refusal reads
// at the token endpoint (RFC 8707 resource) and at token exchange (RFC 8693 target API).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors } from 'oidc-provider';
import { grantApiScopes, scopeRefusalError, scopeRefusalText } from '../../src/tokens/granted-scopes.js';
import { decideClientCredentials } from '../../src/tokens/client-credentials.js';
import { builtinResource } from '../../src/catalog/builtin-resource.js';
import type { ResourceRecord } from '../../src/stores/resources.js';

const orders: ResourceRecord = {
  identifier: 'https://api.test/orders',
  name: 'Orders',
  scopes: ['orders.read', 'orders.write', 'orders.audit'],
  accessTokenTtl: 420,
  accessTokenFormat: 'jwt',
  dpopBoundAccessTokens: false,
  clientId: 'orders-service',
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

describe('grantApiScopes', () => {
  it('grants the requested scopes, each once, in the order first asked', () => {
    assert.deepEqual(grantApiScopes(['orders.write', 'orders.read', 'orders.write'], orders, ['orders.read', 'orders.write']), {
      ok: true,
      scopes: ['orders.write', 'orders.read'],
    });
  });

  it('grants every reachable scope when none is asked for (RFC 6749 §3.3 default)', () => {
    const reachable = ['orders.read', 'orders.audit'];
    const granted = grantApiScopes([], orders, reachable);
    assert.deepEqual(granted, { ok: true, scopes: ['orders.read', 'orders.audit'] });
    // A copy: the caller's list is not handed out to be changed.
    assert.ok(granted.ok && granted.scopes !== reachable);
  });

  it('refuses an API the client cannot reach, whatever is asked (invalid_target)', () => {
    for (const requested of [[], ['orders.read'], ['nope']]) {
      assert.deepEqual(grantApiScopes(requested, orders, []), { ok: false, refusal: { error: 'invalid_target', reason: 'unreachable' } });
    }
  });

  it('refuses the first requested scope the API does not define, or the client may not have', () => {
    const reachable = ['orders.read'];
    assert.deepEqual(grantApiScopes(['orders.read', 'billing.read', 'orders.write'], orders, reachable), {
      ok: false,
      refusal: { error: 'invalid_scope', reason: 'not_defined', scope: 'billing.read' },
    });
    assert.deepEqual(grantApiScopes(['orders.read', 'orders.write', 'billing.read'], orders, reachable), {
      ok: false,
      refusal: { error: 'invalid_scope', reason: 'not_allowed', scope: 'orders.write' },
    });
  });

  it('words a refusal for the endpoint that gives it, as the library error the hooks throw', () => {
    const unreachable = { error: 'invalid_target', reason: 'unreachable' } as const;
    const undefinedScope = { error: 'invalid_scope', reason: 'not_defined', scope: 'billing.read' } as const;
    const notAllowed = { error: 'invalid_scope', reason: 'not_allowed', scope: 'orders.write' } as const;
    assert.equal(scopeRefusalText(unreachable, 'resource'), 'the client may not request tokens for this resource');
    assert.equal(scopeRefusalText(unreachable, 'target API'), 'the client may not request tokens for this API');
    assert.equal(scopeRefusalText(undefinedScope, 'resource'), 'requested scope is not defined by the resource');
    assert.equal(scopeRefusalText(undefinedScope, 'target API'), 'requested scope is not defined by the target API');
    assert.equal(scopeRefusalText(notAllowed, 'resource'), 'requested scope is not allowed for this client');
    assert.equal(scopeRefusalText(notAllowed, 'target API'), 'requested scope is not allowed for this client');

    const target = scopeRefusalError(unreachable, 'resource');
    assert.ok(target instanceof errors.InvalidTarget);
    assert.equal(target.error, 'invalid_target');
    assert.equal(target.error_description, 'the client may not request tokens for this resource');
    const scope = scopeRefusalError(notAllowed, 'target API') as errors.InvalidScope & { scope?: string };
    assert.ok(scope instanceof errors.InvalidScope);
    assert.equal(scope.error, 'invalid_scope');
    assert.equal(scope.error_description, 'requested scope is not allowed for this client');
    assert.equal(scope.scope, 'orders.write');
  });
});

describe('decideClientCredentials', () => {
  it('issues the granted scope for the API, living the API TTL', () => {
    assert.deepEqual(decideClientCredentials(orders, ['orders.read', 'orders.write'], ['orders.write']), {
      ok: true,
      api: orders,
      scope: 'orders.write',
      lifetime: 420,
    });
    assert.deepEqual(decideClientCredentials(orders, ['orders.read', 'orders.write'], []), {
      ok: true,
      api: orders,
      scope: 'orders.read orders.write',
      lifetime: 420,
    });
  });

  it('works the same for a built-in API (the admin API)', () => {
    const admin = builtinResource('https://issuer.test/admin', 'Portcullis admin API', 'admin', 300);
    assert.deepEqual(decideClientCredentials(admin, ['admin'], ['admin']), { ok: true, api: admin, scope: 'admin', lifetime: 300 });
    assert.equal(decideClientCredentials(admin, [], ['admin']).ok, false);
  });

  it('refuses an OpenID Connect scope: it names claims, not access to an API', () => {
    // Even if an API (from before names were reserved) defined it and the client held it.
    const legacy = { ...orders, scopes: [...orders.scopes, 'profile'] };
    assert.deepEqual(decideClientCredentials(legacy, ['orders.read', 'profile'], ['orders.read', 'profile']), {
      ok: false,
      refusal: { error: 'invalid_scope', reason: 'not_defined', scope: 'profile' },
    });
  });

  it('refuses a scope string that is not RFC 6749 §3.3 syntax, split as it came', () => {
    const reachable = ['orders.read', 'orders.write'];
    // Doubled, leading and trailing spaces give empty values; a tab is not a separator.
    for (const scope of ['orders.read  orders.write', ' orders.read', 'orders.read ', '', 'orders.read\torders.write', 'orders."read"']) {
      const decision = decideClientCredentials(orders, reachable, scope.split(' '));
      assert.equal(decision.ok, false, JSON.stringify(scope));
      assert.equal(!decision.ok && decision.refusal.error, 'invalid_scope');
    }
  });

  it('refuses an API the client cannot reach', () => {
    assert.deepEqual(decideClientCredentials(orders, [], []), { ok: false, refusal: { error: 'invalid_target', reason: 'unreachable' } });
  });
});
