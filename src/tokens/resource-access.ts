// Which APIs exist (the table plus our own built-in ones: the admin API and the revocation
// feed) and which of their scopes a client may have. The one place that answers "may this
// client reach this API, and with what", for client credentials, codes and refreshes alike.
import type { Catalog } from '../catalog/catalog.js';
import type { ResourceRecord } from '../stores/resources.js';
import { adminResource, adminScope } from '../catalog/admin-resource.js';
import { feedResource, feedScope } from '../catalog/feed-resource.js';
import { splitScope } from './scopes.js';

export interface ResourceAccess {
  find(identifier: string): Promise<ResourceRecord | undefined>;
  all(): Promise<ResourceRecord[]>;
  /** The scopes of `api` this client may have; empty when it may not reach the API at all. */
  reachableScopes(api: ResourceRecord, clientId: string): Promise<string[]>;
}

export function createResourceAccess(deps: { catalog: Catalog; issuer: string; builtinTokenTtl: number }): ResourceAccess {
  const admin = adminResource(deps.issuer, deps.builtinTokenTtl);
  const feed = feedResource(deps.issuer, deps.builtinTokenTtl);
  const builtins = new Map([admin, feed].map((api) => [api.identifier, api]));

  return {
    async find(identifier) {
      return builtins.get(identifier) ?? deps.catalog.findResource(identifier);
    },
    async all() {
      return [...builtins.values(), ...(await deps.catalog.listResources())];
    },
    async reachableScopes(api, clientId) {
      const held = new Set(splitScope((await deps.catalog.findClient(clientId))?.metadata.scope));
      if (api.identifier === feed.identifier) {
        const actsForAnApi = (await deps.catalog.listResources()).some((candidate) => candidate.clientId === clientId);
        return actsForAnApi || held.has(adminScope) ? [feedScope] : [];
      }
      return api.scopes.filter((scope) => held.has(scope));
    },
  };
}
