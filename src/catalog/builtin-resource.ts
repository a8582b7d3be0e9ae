// An API of this server itself (the admin API, the revocation feed), shaped like a row of the
// resources table so the one resource policy serves them too.
import type { ResourceRecord } from '../stores/resources.js';

export function builtinResource(identifier: string, name: string, scope: string, accessTokenTtl: number): ResourceRecord {
  const epoch = new Date(0);
  return {
    identifier,
    name,
    scopes: [scope],
    accessTokenTtl,
    accessTokenFormat: 'jwt',
    dpopBoundAccessTokens: false,
    clientId: undefined,
    createdAt: epoch,
    updatedAt: epoch,
  };
}
