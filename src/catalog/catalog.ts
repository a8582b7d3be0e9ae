// In-process cache of clients and APIs, so the token hot path never waits on Postgres.
// Every change is announced with NOTIFY in the writing transaction (src/stores/clients.ts,
// resources.ts); every instance LISTENs and drops what changed, so an admin change is seen
// everywhere within a second. Entries also age out, as a safety net against a lost message.
import type { Database } from '../stores/database.js';
import { missedMessages } from '../stores/database.js';
import { isStorableText } from '../stores/text.js';
import { catalogChannel, findClientById, type ClientRecord } from '../stores/clients.js';
import { listAllResources, type ResourceRecord } from '../stores/resources.js';

export interface Catalog {
  findClient(clientId: string): Promise<ClientRecord | undefined>;
  findResource(identifier: string): Promise<ResourceRecord | undefined>;
  listResources(): Promise<readonly ResourceRecord[]>;
  /** Drops cached entries now (the writer's own instance does not wait for its NOTIFY). */
  invalidate(change: { type: 'client' | 'resource'; id: string }): void;
  close(): Promise<void>;
}

const clientCacheLimit = 100_000;
const entryMaxAgeMs = 5 * 60_000;

interface CachedClient {
  record: ClientRecord | undefined;
  loadedAt: number;
}

interface ResourceSnapshot {
  list: readonly ResourceRecord[];
  byIdentifier: ReadonlyMap<string, ResourceRecord>;
  loadedAt: number;
}

export async function createCatalog(
  db: Database,
  onLookup: (cache: 'clients' | 'resources', hit: boolean) => void = () => {},
): Promise<Catalog> {
  const clients = new Map<string, CachedClient | Promise<CachedClient>>();
  let resources: ResourceSnapshot | Promise<ResourceSnapshot> | undefined;
  // Bumped on every invalidation so a load that started before it is not cached after it.
  let generation = 0;

  const loadClient = (clientId: string): Promise<CachedClient> => {
    const started = generation;
    const pending = findClientById(db, clientId).then(
      (record) => {
        const entry = { record, loadedAt: Date.now() };
        if (started === generation) {
          if (clients.size >= clientCacheLimit) clients.delete(clients.keys().next().value as string);
          clients.set(clientId, entry);
        } else {
          clients.delete(clientId);
        }
        return entry;
      },
      (error: unknown) => {
        clients.delete(clientId);
        throw error;
      },
    );
    clients.set(clientId, pending);
    return pending;
  };

  const loadResources = (): Promise<ResourceSnapshot> => {
    const started = generation;
    const pending = listAllResources(db).then(
      (list) => {
        const snapshot = { list, byIdentifier: new Map(list.map((r) => [r.identifier, r])), loadedAt: Date.now() };
        resources = started === generation ? snapshot : undefined;
        return snapshot;
      },
      (error: unknown) => {
        resources = undefined;
        throw error;
      },
    );
    resources = pending;
    return pending;
  };

  const currentResources = async (): Promise<ResourceSnapshot> => {
    const cached = resources;
    const hit = cached !== undefined && (cached instanceof Promise || Date.now() - cached.loadedAt < entryMaxAgeMs);
    onLookup('resources', hit);
    return hit ? cached : loadResources();
  };

  const invalidate: Catalog['invalidate'] = (change) => {
    generation += 1;
    if (change.type === 'client') {
      clients.delete(change.id);
      // Deleting a client unlinks it from its APIs (ON DELETE SET NULL).
      resources = undefined;
    } else {
      resources = undefined;
    }
  };

  const stopListening = await db.listen(catalogChannel, (payload) => {
    if (payload === missedMessages) {
      generation += 1;
      clients.clear();
      resources = undefined;
      return;
    }
    try {
      const change = JSON.parse(payload) as { type: 'client' | 'resource'; id: string };
      invalidate(change);
    } catch {
      generation += 1;
      clients.clear();
      resources = undefined;
    }
  });

  return {
    async findClient(clientId) {
      // No client id can hold a NUL character (the admin schema refuses it): unknown, no query.
      if (!isStorableText(clientId)) return undefined;
      const cached = clients.get(clientId);
      if (cached && (cached instanceof Promise || Date.now() - cached.loadedAt < entryMaxAgeMs)) {
        onLookup('clients', true);
        return (await cached).record;
      }
      onLookup('clients', false);
      return (await loadClient(clientId)).record;
    },
    async findResource(identifier) {
      if (!isStorableText(identifier)) return undefined;
      return (await currentResources()).byIdentifier.get(identifier);
    },
    async listResources() {
      return (await currentResources()).list;
    },
    invalidate,
    async close() {
      await stopListening();
    },
  };
}
