// oidc-provider's storage adapter: Client records come from the catalog (the clients table,
// cached in process); every other model lives in the ephemeral store (Redis or Postgres).
import { errors, type Adapter } from 'oidc-provider';
import type { Catalog } from '../catalog/catalog.js';
import type { EphemeralStore, Payload } from '../stores/ephemeral/types.js';
import { revokedBeforeLifetime, type RevocationStore } from '../stores/revocations/types.js';
import { issuedAtMs } from '../verify/token-format.js';
import { exchangedFromClaim, issuedAtMsClaim, nowWithinSecond, readExchangedFrom } from '../tokens/token-claims.js';
import { opaqueTokenReference } from '../tokens/opaque-token-reference.js';
import { isStorableText } from '../stores/text.js';
import { toProviderClientMetadata } from './client-metadata.js';

interface AdapterDeps {
  store: EphemeralStore;
  catalog: Catalog;
  revocations: RevocationStore;
  clockTolerance: number;
}

// Revoking a grant deletes its stored records and marks its JWT access tokens (which carry the
// grant as `gid`) revoked, so a replayed code or refresh token takes everything down with it.
async function revokeGrant(deps: AdapterDeps, grantId: string): Promise<void> {
  await deps.revocations.revokeIssuedBefore('grant', grantId, Date.now(), revokedBeforeLifetime);
  await deps.store.revokeByGrantId(grantId);
}

// Records whose subject, client or grant was revoked after they were issued are treated as
// gone: refresh tokens, codes, opaque access tokens and sessions stop working at once, on every
// instance, without finding and deleting each one (docs/DESIGN.md "Revocation reach").
const revocableModels = new Set(['AccessToken', 'ClientCredentials', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'Session']);

// The precise times the adapter keeps in a stored record beside the library's epoch seconds
// (which the library drops when it loads a record: oidc-provider/lib/models/payload.js keeps IN_PAYLOAD only):
// `iatMs` for a token (its `iat`), `loginTsMs` for a session (its `loginTs`, the login it vouches for).
const tokenIssuedAtMs = 'iatMs';
const sessionLoginMs = 'loginTsMs';

/** Models whose id is the opaque access token itself. */
const opaqueAccessTokenModels = new Set(['AccessToken', 'ClientCredentials']);

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);


async function isRevokedRecord(deps: AdapterDeps, model: string, id: string, record: Payload): Promise<boolean> {
  if (!revocableModels.has(model)) return false;
  const extra = (typeof record.extra === 'object' && record.extra !== null ? record.extra : {}) as Record<string, unknown>;
  // A session is re-saved on every visit; what it vouches for dates from the login.
  const [seconds, precise] = model === 'Session' ? [record.loginTs, record[sessionLoginMs]] : [record.iat, record[tokenIssuedAtMs]];
  if (typeof seconds !== 'number') return false;
  const exchangedFrom = readExchangedFrom(extra[exchangedFromClaim]);
  // We wrote it; a lineage we cannot read cannot be checked, so the record is not honoured.
  if (!exchangedFrom) return true;
  return deps.revocations.isRevoked({
    jti: text(record.jti) ?? id,
    issuedAt: issuedAtMs(seconds, precise),
    sub: text(record.accountId) ?? (model === 'ClientCredentials' ? text(record.clientId) : undefined),
    clientId: text(record.clientId),
    // An exchanged opaque token has no grant of its own; it belongs to its subject token's (`gid`).
    grantId: text(record.grantId) ?? text(extra.gid),
    // An opaque access token revoked by reference (destroyRecord, admin/revocations.ts) is refused
    // by that listing too, should deleting the record itself have failed.
    exchangedFrom: opaqueAccessTokenModels.has(model) ? [{ jti: opaqueTokenReference(id) }, ...exchangedFrom] : exchangedFrom,
  });
}

/**
 * The record to store, with its precise time: a token's from its `iat_ms` claim or now (it is
 * saved once, right after the library stamped `iat`); a session's kept from the stored record
 * while it vouches for the same login, else now (a login just happened).
 */
async function withPreciseTime(store: EphemeralStore, model: string, id: string, payload: Payload): Promise<Payload> {
  if (!revocableModels.has(model)) return payload;
  if (model === 'Session') {
    if (typeof payload.loginTs !== 'number') return payload;
    const stored = await store.find(model, id);
    const sameLogin = stored?.loginTs === payload.loginTs && stored.accountId === payload.accountId;
    const kept = sameLogin && typeof stored[sessionLoginMs] === 'number' ? stored[sessionLoginMs] : nowWithinSecond(payload.loginTs);
    return { ...payload, [sessionLoginMs]: kept };
  }
  if (typeof payload.iat !== 'number') return payload;
  const claimed = (payload.extra as Record<string, unknown> | undefined)?.[issuedAtMsClaim];
  const precise = typeof claimed === 'number' ? issuedAtMs(payload.iat, claimed) : nowWithinSecond(payload.iat);
  return { ...payload, [tokenIssuedAtMs]: precise };
}

// An opaque access token is destroyed when it is revoked (RFC 7009). Tokens exchanged from it
// name it by reference in `exchanged_from` (oidc/grants/presented-token.ts), so the reference is
// listed as revoked until the token would have expired: they die with it, here and at APIs.

async function destroyRecord(deps: AdapterDeps, model: string, id: string): Promise<void> {
  if (opaqueAccessTokenModels.has(model) && isStorableText(id)) {
    const record = await deps.store.find(model, id);
    if (typeof record?.exp === 'number') await deps.revocations.revokeToken(opaqueTokenReference(id), record.exp);
  }
  await deps.store.destroy(model, id);
}

// Records outlive their nominal expiry by the clock tolerance, as the library's own adapter does,
// so a token it still accepts within the tolerance is still found.
function ephemeralAdapter(deps: AdapterDeps, model: string): Adapter {
  const { store, clockTolerance } = deps;
  return {
    upsert: async (id, payload, expiresIn) =>
      store.upsert(
        model,
        id,
        await withPreciseTime(store, model, id, payload),
        expiresIn === undefined ? undefined : expiresIn + clockTolerance,
      ),
    find: async (id) => {
      // A presented value with a NUL character cannot be one of ours (Postgres could not even
      // compare it): not found.
      if (!isStorableText(id)) return undefined;
      const record = await store.find(model, id);
      return record && (await isRevokedRecord(deps, model, id, record)) ? undefined : (record);
    },
    findByUid: (uid) => store.findByUid(model, uid),
    findByUserCode: (userCode) => store.findByUserCode(model, userCode),
    destroy: (id) => destroyRecord(deps, model, id),
    revokeByGrantId: (grantId) => revokeGrant(deps, grantId),
    // The library checks `consumed` and then calls consume() (find-then-act). Two parallel
    // redemptions both pass its check; the store's atomic consume lets exactly one through, and
    // the loser is treated as a replay: the grant is revoked (RFC 9700 §4.2.4, §4.14.2).
    async consume(id) {
      if (await store.consume(model, id)) return;
      const record = await store.find(model, id);
      if (typeof record?.grantId === 'string') await revokeGrant(deps, record.grantId);
      throw new errors.InvalidGrant('grant already consumed');
    },
  };
}

function clientAdapter(catalog: Catalog): Adapter {
  const readOnly = async (): Promise<never> => {
    throw new Error('clients are managed through the admin API');
  };
  return {
    async find(id) {
      const record = await catalog.findClient(id);
      return record && (toProviderClientMetadata(record));
    },
    upsert: readOnly,
    findByUid: readOnly,
    findByUserCode: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    consume: readOnly,
  };
}

export function createAdapterFactory(deps: AdapterDeps): (model: string) => Adapter {
  const client = clientAdapter(deps.catalog);
  const adapters = new Map<string, Adapter>();
  return (model) => {
    if (model === 'Client') return client;
    let adapter = adapters.get(model);
    if (!adapter) {
      adapter = ephemeralAdapter(deps, model);
      adapters.set(model, adapter);
    }
    return adapter;
  };
}
