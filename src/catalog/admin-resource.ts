// The admin API is itself an API of this server: admin tokens are client_credentials JWTs
// whose audience is `${issuer}/admin` and whose scope holds `admin`.
import type { ResourceRecord } from '../stores/resources.js';
import { builtinResource } from './builtin-resource.js';

export const adminScope = 'admin';

export function adminResourceIdentifier(issuer: string): string {
  return `${issuer}/admin`;
}

export function adminResource(issuer: string, accessTokenTtl: number): ResourceRecord {
  return builtinResource(adminResourceIdentifier(issuer), 'Portcullis admin API', adminScope, accessTokenTtl);
}
