// The revocation feed is an API of this server too: resource servers stream it with a
// client_credentials token for audience `${issuer}/revocations`, scope `revocations`. Any client
// acting for an API (or holding `admin`) may get one, without listing the scope itself.
import type { ResourceRecord } from '../stores/resources.js';
import { builtinResource } from './builtin-resource.js';

export const feedScope = 'revocations';

export function feedResourceIdentifier(issuer: string): string {
  return `${issuer}/revocations`;
}

export function feedResource(issuer: string, accessTokenTtl: number): ResourceRecord {
  return builtinResource(feedResourceIdentifier(issuer), 'Portcullis revocation feed', feedScope, accessTokenTtl);
}
