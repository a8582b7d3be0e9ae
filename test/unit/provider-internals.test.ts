// The patches of src/oidc/internals.ts go into slots of oidc-provider's action arrays. Each must
// be found (a library upgrade that moves it stops the start instead of silently answering as the
// library does), and preparing twice (a second Provider in one process) must leave one patch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Provider from 'oidc-provider';
import {
  applyProviderPatches,
  installedLibraryVersion,
  patchedLibraryVersion,
  patchedStacks,
  prepareFastPathBodies,
  prepareStructuredTokenEndpoints,
  prepareUnauthorizedClientAnswer,
} from '../../src/oidc/internals.js';
import type { Catalog } from '../../src/catalog/catalog.js';
import type { EphemeralStore } from '../../src/stores/ephemeral/types.js';

const tokenActions = patchedStacks.token;
const getAuthorizationStack = patchedStacks.authorization;

type Middleware = (typeof tokenActions)[number];

function prepareAll(): void {
  prepareStructuredTokenEndpoints();
  prepareFastPathBodies();
  prepareUnauthorizedClientAnswer();
}

/** Runs `body` with `actions[index]` swapped for a stranger, and puts it back. */
function withSlotReplaced(actions: Middleware[], index: number, body: () => void): void {
  const original = actions[index]!;
  actions[index] = function somethingElse(_ctx, next) {
    return next();
  };
  try {
    body();
  } finally {
    actions[index] = original;
  }
}

describe('oidc-provider internals patches', () => {
  it('patch the grant-type and response-type checks once, however often they are prepared', () => {
    prepareAll();
    const tokenSnapshot = [...tokenActions];
    const authorizationSnapshot = [...getAuthorizationStack('authorization')];
    prepareAll();
    prepareAll();
    assert.deepEqual(tokenActions, tokenSnapshot);
    assert.deepEqual(getAuthorizationStack('authorization'), authorizationSnapshot);
    const names = tokenActions.map((middleware) => middleware.name);
    assert.ok(names.includes('registeredGrantTypeCheck'), names.join(' '));
    assert.ok(!names.includes('allowedGrantTypeCheck'), names.join(' '));
    assert.ok(getAuthorizationStack('authorization').some((middleware) => middleware.name === 'registeredResponseTypeCheck'));
    assert.ok(getAuthorizationStack('pushed_authorization_request').some((middleware) => middleware.name === 'registeredResponseTypeCheck'));
  });

  it('regression: a missing slot must stop the start loudly, not skip the patch silently', () => {
    prepareAll();
    const grantCheck = tokenActions.findIndex((middleware) => middleware.name === 'registeredGrantTypeCheck');
    withSlotReplaced(tokenActions, grantCheck, () => {
      assert.throws(prepareUnauthorizedClientAnswer, /oidc-provider changed: oidc-provider\/lib\/actions\/token\.js allowedGrantTypeCheck/);
    });
    const authorization = getAuthorizationStack('authorization');
    const responseTypeCheck = authorization.findIndex((middleware) => middleware.name === 'registeredResponseTypeCheck');
    withSlotReplaced(authorization, responseTypeCheck, () => {
      assert.throws(prepareUnauthorizedClientAnswer, /oidc-provider changed: .*authorization checkResponseType/);
    });
    const bodyParser = tokenActions.findIndex((middleware) => middleware.name === 'parseBodyReadEarly');
    withSlotReplaced(tokenActions, bodyParser, () => {
      assert.throws(prepareFastPathBodies, /oidc-provider changed: oidc-provider\/lib\/actions\/token\.js parseBody/);
    });
    // Put back, everything prepares again.
    prepareAll();
  });

  it('a patch that cannot apply names itself and the installed and expected library versions', () => {
    prepareAll();
    const grantCheck = tokenActions.findIndex((middleware) => middleware.name === 'registeredGrantTypeCheck');
    withSlotReplaced(tokenActions, grantCheck, () => {
      assert.throws(prepareUnauthorizedClientAnswer, (error: Error) => {
        assert.ok(error.message.includes('patch registeredGrantTypeCheck in src/oidc/internals.ts'), error.message);
        assert.ok(error.message.includes(`written for oidc-provider ${patchedLibraryVersion}, installed ${installedLibraryVersion}`), error.message);
        return true;
      });
    });
  });

  it('regression: a model patch whose method is gone stops the start instead of being skipped', () => {
    const deps = { store: {} as EphemeralStore, catalog: {} as Catalog };
    const options = { jwksMinRefetchSeconds: 10, assertionTimes: { maxLifetime: 60, clockTolerance: 5 } };
    const changedLibrary = { Client: class {}, ReplayDetection: {} } as unknown as Provider;
    assert.throws(
      () => applyProviderPatches(changedLibrary, deps, options),
      /oidc-provider changed: oidc-provider\/lib\/models\/client\.js Client has no find\(\) \(patch memoiseClientsByCatalogRecord in src\/oidc\/internals\.ts/,
    );
  });
});
