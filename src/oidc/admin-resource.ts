// The admin API is itself an API of this server: admin tokens are client_credentials JWTs
// whose audience is `${issuer}/admin` and whose scope holds `admin`.
import type { ResourceRecord } from '../stores/resources.js';

export const adminScope = 'admin';

export function adminResourceIdentifier(issuer: string): string {
  return `${issuer}/admin`;
}

export function adminResource(issuer: string, accessTokenTtl: number): ResourceRecord {
  const epoch = new Date(0);
  return {
    identifier: adminResourceIdentifier(issuer),
    name: 'Portcullis admin API',
    scopes: [adminScope],
    accessTokenTtl,
    accessTokenFormat: 'jwt',
    clientId: undefined,
    createdAt: epoch,
    updatedAt: epoch,
  };
}
