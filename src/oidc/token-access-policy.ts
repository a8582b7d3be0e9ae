// Who may learn about or revoke a token (RFC 7662 §4, RFC 7009 §2.1): the client it was issued
// to; for introspection also the client acting for the token's API; and admin-scoped clients.
// Anyone else learns nothing ({"active": false}).
import type { Catalog } from '../catalog/catalog.js';
import { adminScope } from '../catalog/admin-resource.js';
import { splitScope } from '../tokens/scopes.js';
import { audiencesOf } from '../tokens/claims.js';

export interface TokenOwner {
  clientId: string | undefined;
  aud: unknown;
}

export function createTokenAccessPolicy(catalog: Catalog) {
  async function isAdmin(clientId: string): Promise<boolean> {
    return splitScope((await catalog.findClient(clientId))?.metadata.scope).includes(adminScope);
  }
  return {
    async mayIntrospect(callerClientId: string, token: TokenOwner): Promise<boolean> {
      if (token.clientId === callerClientId) return true;
      for (const audience of audiencesOf(token.aud)) {
        if ((await catalog.findResource(audience))?.clientId === callerClientId) return true;
      }
      return isAdmin(callerClientId);
    },
    async mayRevoke(callerClientId: string, token: TokenOwner): Promise<boolean> {
      return token.clientId === callerClientId || isAdmin(callerClientId);
    },
  };
}

export type TokenAccessPolicy = ReturnType<typeof createTokenAccessPolicy>;
