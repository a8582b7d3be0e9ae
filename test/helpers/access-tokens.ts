// An access token checked as an API checks it: signature against the server's published JWKS,
// RFC 9068 `typ` at+jwt, ES256 only, our issuer, the API's audience.
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';

export async function verifiedAccessToken(server: { url: string; issuer: string }, jwt: string, audience: string): Promise<JWTPayload> {
  const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: [] };
  return (await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: server.issuer, audience, typ: 'at+jwt', algorithms: ['ES256'] })).payload;
}
