// What every scenario needs on both servers: the APIs (resource indicators), the clients, one
// ES256 key for the private_key_jwt clients, and the users of the login flow. Portcullis gets
// them through its admin API (portcullis.ts); the baseline gets them as static configuration.
import crypto from 'node:crypto';

export const exchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';
export const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The loopback redirect URI of the web client; the harness stops at it and never calls it. */
export const callback = 'http://127.0.0.1:9/callback';

export interface ApiFixture {
  identifier: string;
  scopes: string[];
  ttl: number;
  format: 'jwt' | 'opaque';
  /** Portcullis: the client acting for this API (may trade tokens addressed to it). */
  actingClient?: string;
}

/** Every API token lives 300 s (Portcullis' default `access_token_ttl`). */
export const accessTokenTtl = 300;

export const apis = {
  main: { identifier: 'https://api.bench.test', scopes: ['api.read', 'api.write'], ttl: accessTokenTtl, format: 'jwt' },
  opaque: { identifier: 'https://opaque.bench.test', scopes: ['opaque.read'], ttl: accessTokenTtl, format: 'opaque' },
  // Token exchange: a token for A (served by bench-exchanger) is traded for one for B.
  a: { identifier: 'https://a.bench.test', scopes: ['a.read'], ttl: accessTokenTtl, format: 'jwt', actingClient: 'bench-exchanger' },
  b: { identifier: 'https://b.bench.test', scopes: ['b.read'], ttl: accessTokenTtl, format: 'jwt' },
  // Phantom tokens: opaque outside, traded at introspection by the API's gateway (bench-secret here).
  phantom: { identifier: 'https://phantom.bench.test', scopes: ['phantom.read'], ttl: accessTokenTtl, format: 'opaque', actingClient: 'bench-secret' },
} satisfies Record<string, ApiFixture>;

export const clientIds = {
  secret: 'bench-secret',
  pkjwt: 'bench-pkjwt',
  exchanger: 'bench-exchanger',
  web: 'bench-web',
} as const;

export const loginScope = 'openid offline_access api.read';
export const userPassword = 'bench password, long enough';
export const userCount = 16;
export const username = (index: number) => `bench-user-${index % userCount}`;

export interface AssertionKey {
  kid: string;
  privateKeyPem: string;
  publicJwk: Record<string, unknown>;
}

export function createAssertionKey(): AssertionKey {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = `bench-${crypto.randomBytes(4).toString('hex')}`;
  return {
    kid,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' },
  };
}

/** RFC 7591 metadata of the clients, as POSTed to Portcullis' admin API. */
export function clientMetadata(key: AssertionKey): Record<keyof typeof clientIds, Record<string, unknown>> {
  const jwks = { keys: [key.publicJwk] };
  return {
    secret: {
      client_id: clientIds.secret,
      client_name: 'bench client_secret_basic',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api.read opaque.read a.read phantom.read',
    },
    pkjwt: {
      client_id: clientIds.pkjwt,
      client_name: 'bench private_key_jwt',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks,
      scope: 'api.read',
    },
    exchanger: {
      client_id: clientIds.exchanger,
      client_name: 'bench token exchange',
      grant_types: [exchangeGrant],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks,
      scope: 'b.read',
    },
    web: {
      client_id: clientIds.web,
      client_name: 'bench web app',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [callback],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: loginScope,
    },
  };
}

export function basicAuth(id: string, secret: string): string {
  // RFC 6749 §2.3.1: form-urlencode both parts before base64.
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}
