// Gets an admin access token with the client credentials grant (RFC 6749 §4.4), authenticating
// with HTTP Basic as RFC 6749 §2.3.1 says: id and secret are form-urlencoded before base64, so
// a secret holding ':' or non-ASCII characters still splits and decodes correctly.
import { CliError } from './errors.js';
import { exchange } from './http.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

function formEncode(value: string): string {
  // URLSearchParams serializes with application/x-www-form-urlencoded rules (space as '+').
  return new URLSearchParams([['', value]]).toString().slice(1);
}

function basicAuthorization(credentials: ClientCredentials): string {
  const pair = `${formEncode(credentials.clientId)}:${formEncode(credentials.clientSecret)}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

export async function requestAdminToken(issuer: string, credentials: ClientCredentials): Promise<string> {
  const { body } = await exchange(issuer, `${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: basicAuthorization(credentials),
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }).toString(),
  });
  const token = (body as { access_token?: unknown } | undefined)?.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new CliError(`the token endpoint of ${issuer} answered without an access_token`);
  }
  return token;
}
