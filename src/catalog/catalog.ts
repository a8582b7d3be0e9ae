// In-process cache of clients, APIs and user profiles, so the token hot path never waits on
// Postgres.
// Every change is announced with NOTIFY in the writing transaction (src/stores/clients.ts,
// resources.ts, users.ts); every instance LISTENs and drops what changed, so an admin change is seen
// everywhere within a second. Entries also age out, as a safety net against a lost message.
import type { Database } from '../stores/database.js';
import { missedMessages } from '../stores/database.js';
import { isStorableText } from '../stores/text.js';
import { findClientById, type ClientRecord } from '../stores/clients.js';
import { catalogChannel, type CatalogChange } from '../stores/catalog-channel.js';
import { listAllResources, type ResourceRecord } from '../stores/resources.js';
import { findUserBySub, type UserRecord } from '../stores/users.js';
import { createRecordCache } from './record-cache.js';

/** What the catalog keeps of a user: never the password hash (see findUser). */
export type CatalogUser = Omit<UserRecord, 'passwordHash'>;

function withoutPasswordHash(user: UserRecord | undefined): CatalogUser | undefined {
  if (!user) return undefined;
  const { passwordHash: _passwordHash, ...profile } = user;
  return profile;
}

export interface Catalog {
  findClient(clientId: string): Promise<ClientRecord | undefined>;
  /**
   * A user's profile and status, for ID token claims and userinfo. Credentials and second-factor
   * state are read fresh where they are checked (login, MFA), never from here.
   */
  findUser(sub: string): Promise<CatalogUser | undefined>;
  findResource(identifier: string): Promise<ResourceRecord | undefined>;
  listResources(): Promise<readonly ResourceRecord[]>;
  /** Drops cached entries now (the writer's own instance does not wait for its NOTIFY). */
  invalidate(change: CatalogChange): void;
  close(): Promise<void>;
}

const clientCacheLimit = 100_000;
/** Users are many (millions) and each signs in now and then: only the recently active stay. */
const userCacheLimit = 10_000;
const entryMaxAgeMs = 5 * 60_000;

interface ResourceSnapshot {
  list: readonly ResourceRecord[];
  byIdentifier: ReadonlyMap<string, ResourceRecord>;
  loadedAt: number;
}

export async function createCatalog(
  db: Database,
  onLookup: (cache: 'clients' | 'resources' | 'users', hit: boolean) => void = () => {},
): Promise<Catalog> {
  let resources: ResourceSnapshot | Promise<ResourceSnapshot> | undefined;
  // Bumped on every invalidation so a load that started before it is not cached after it.
  let generation = 0;
  const clients = createRecordCache({
    load: (clientId) => findClientById(db, clientId),
    limit: clientCacheLimit,
    maxAgeMs: entryMaxAgeMs,
    generation: () => generation,
    onLookup: (hit) => onLookup('clients', hit),
  });
  const users = createRecordCache({
    load: async (sub) => withoutPasswordHash(await findUserBySub(db, sub)),
    limit: userCacheLimit,
    maxAgeMs: entryMaxAgeMs,
    generation: () => generation,
    onLookup: (hit) => onLookup('users', hit),
  });

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
    if (change.type === 'user') {
      users.drop(change.id);
    } else if (change.type === 'client') {
      clients.drop(change.id);
      // Deleting a client unlinks it from its APIs (ON DELETE SET NULL).
      resources = undefined;
    } else {
      resources = undefined;
    }
  };

  const forgetEverything = (): void => {
    generation += 1;
    clients.clear();
    users.clear();
    resources = undefined;
  };

  const stopListening = await db.listen(catalogChannel, (payload) => {
    if (payload === missedMessages) {
      forgetEverything();
      return;
    }
    try {
      const change = JSON.parse(payload) as CatalogChange;
      invalidate(change);
    } catch {
      forgetEverything();
    }
  });

  return {
    findClient: (clientId) => clients.find(clientId),
    findUser: (sub) => users.find(sub),
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
