// oidc-provider's storage adapter: Client records come from the catalog (the clients table,
// cached in process); every other model lives in the ephemeral store (Redis or Postgres).
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Catalog } from '../catalog/catalog.js';
import type { EphemeralStore, Payload } from '../stores/ephemeral/types.js';
import { revokedBeforeLifetime, type RevocationStore } from '../stores/revocations/types.js';
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
  await deps.revocations.revokeIssuedBefore('grant', grantId, Math.floor(Date.now() / 1000), revokedBeforeLifetime);
  await deps.store.revokeByGrantId(grantId);
}

// Records whose subject, client or grant was revoked after they were issued are treated as
// gone: refresh tokens, codes, opaque access tokens and sessions stop working at once, on every
// instance, without finding and deleting each one (DESIGN.md "Revocation reach").
const revocableModels = new Set(['AccessToken', 'ClientCredentials', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'Session']);

async function isRevokedRecord(deps: AdapterDeps, model: string, id: string, record: Payload): Promise<boolean> {
  if (!revocableModels.has(model)) return false;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  // A session is re-saved on every visit; what it vouches for dates from the login.
  const issuedAt = model === 'Session' ? record.loginTs : record.iat;
  if (typeof issuedAt !== 'number') return false;
  return deps.revocations.isRevoked({
    jti: text(record.jti) ?? id,
    iat: issuedAt,
    sub: text(record.accountId) ?? (model === 'ClientCredentials' ? text(record.clientId) : undefined),
    clientId: text(record.clientId),
    grantId: text(record.grantId),
  });
}

// Records outlive their nominal expiry by the clock tolerance, as the library's own adapter does,
// so a token it still accepts within the tolerance is still found.
function ephemeralAdapter(deps: AdapterDeps, model: string): Adapter {
  const { store, clockTolerance } = deps;
  return {
    upsert: (id, payload, expiresIn) =>
      store.upsert(model, id, payload as Payload, expiresIn === undefined ? undefined : expiresIn + clockTolerance),
    find: async (id) => {
      // A presented value with a NUL character cannot be one of ours (Postgres could not even
      // compare it): not found.
      if (!isStorableText(id)) return undefined;
      const record = await store.find(model, id);
      return record && (await isRevokedRecord(deps, model, id, record)) ? undefined : (record as AdapterPayload | undefined);
    },
    findByUid: (uid) => store.findByUid(model, uid) as Promise<AdapterPayload | undefined>,
    findByUserCode: (userCode) => store.findByUserCode(model, userCode) as Promise<AdapterPayload | undefined>,
    destroy: (id) => store.destroy(model, id),
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
      return record && (toProviderClientMetadata(record) as AdapterPayload);
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
