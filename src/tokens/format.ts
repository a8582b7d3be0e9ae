// The format of our access tokens, for every path that signs or checks one: RFC 9068 JWTs
// (`typ: at+jwt`, §2.1) signed with ES256 (docs/DESIGN.md "Protocol surface": ES256 preferred for
// access tokens), or opaque tokens for an API that asks for them (`access_token_format`).
import type { ResourceServer } from 'oidc-provider';
import type { ResourceRecord } from '../stores/resources.js';
import { accessTokenSigningAlg } from '../verify/token-format.js';

// The algorithm, `typ` and required claims are the wire format APIs check too, defined once in
// src/verify/token-format.ts.
export { accessTokenRequiredClaims, accessTokenSigningAlg, accessTokenType } from '../verify/token-format.js';

/** True when the string looks like a JWS at all (three base64url parts, RFC 7515 §7.1). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/**
 * How oidc-provider is told to format a token for `api` (the format members of its
 * ResourceServer info, oidc-provider/lib/models/formats/jwt.js getResourceServerConfig): a JWT signed with our
 * access-token algorithm, or opaque.
 */
function resourceServerFormat(api: Pick<ResourceRecord, 'accessTokenFormat'>): Pick<ResourceServer, 'accessTokenFormat' | 'jwt'> {
  return {
    accessTokenFormat: api.accessTokenFormat,
    ...(api.accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: accessTokenSigningAlg } } } : {}),
  };
}

/**
 * What the library is told of an API for a token it issues: its identifier as `aud`, the scopes
 * it may hold, the lifetime and the format (RFC 8707, RFC 9068).
 */
export function resourceServerInfo(
  api: Pick<ResourceRecord, 'identifier' | 'accessTokenFormat'>,
  scopes: readonly string[],
  lifetime: number,
): Pick<ResourceServer, 'audience' | 'scope' | 'accessTokenTTL' | 'accessTokenFormat' | 'jwt'> {
  return { audience: api.identifier, scope: scopes.join(' '), accessTokenTTL: lifetime, ...resourceServerFormat(api) };
}
