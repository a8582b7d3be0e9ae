// The revocation feed is an API of this server too: resource servers stream it with a
// client_credentials token for audience `${issuer}/revocations`, scope `revocations`. Any client
// acting for an API (or holding `admin`) may get one, without listing the scope itself.
import type { ResourceRecord } from '../stores/resources.js';

export const feedScope = 'revocations';

export function feedResourceIdentifier(issuer: string): string {
  return `${issuer}/revocations`;
}

export function feedResource(issuer: string, accessTokenTtl: number): ResourceRecord {
  const epoch = new Date(0);
  return {
    identifier: feedResourceIdentifier(issuer),
    name: 'Portcullis revocation feed',
    scopes: [feedScope],
    accessTokenTtl,
    accessTokenFormat: 'jwt',
    clientId: undefined,
    createdAt: epoch,
    updatedAt: epoch,
  };
}
