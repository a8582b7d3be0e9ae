// private_key_jwt (RFC 7523 §3, RFC 7521 §5.2) checked strictly. The library has already
// verified the signature with the client's registered keys, an asymmetric `alg` from our
// allow-list, `iss` = client_id (found by `sub`), `exp` and `jti` present and `nbf`; we add:
// - `aud` is exactly the issuer identifier (a switch also admits the token endpoint URL);
//   never an array, so an assertion minted for another server is not replayable here;
// - the assertion lives at most `maxLifetime` seconds, `iat` is not in the future;
// - no header that points at other keys (`jku`, `x5u`, `jwk`, `x5c`; RFC 8725 §3.10).
// The `jti` is then consumed atomically (internals.ts, ReplayDetection).
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

export interface ClientAssertionPolicy {
  issuer: string;
  tokenEndpoint: string;
  acceptTokenEndpointAudience: boolean;
  maxLifetime: number;
  clockTolerance: number;
}

const keyReferenceHeaders = ['jku', 'x5u', 'jwk', 'x5c'];

export function createClientAssertionCheck(policy: ClientAssertionPolicy) {
  return async function assertJwtClientAuthClaimsAndHeader(
    _ctx: KoaContextWithOIDC,
    claims: Record<string, unknown>,
    header: Record<string, unknown>,
    client: { clientId: string },
  ): Promise<void> {
    const refuse = (detail: string): never => {
      throw new errors.InvalidClientAuth(detail);
    };
    for (const name of keyReferenceHeaders) {
      if (name in header) refuse(`the client_assertion header must not carry ${name}`);
    }
    if (claims.sub !== client.clientId) refuse('sub (JWT subject) must be the client_id');
    const allowedAudiences = policy.acceptTokenEndpointAudience ? [policy.issuer, policy.tokenEndpoint] : [policy.issuer];
    if (typeof claims.aud !== 'string' || !allowedAudiences.includes(claims.aud)) {
      refuse(`aud (JWT audience) must be the issuer identifier ${policy.issuer}`);
    }
    const now = Math.floor(Date.now() / 1000);
    const exp = claims.exp as number;
    if (claims.iat !== undefined) {
      if (typeof claims.iat !== 'number') refuse('iat must be a number');
      if ((claims.iat as number) > now + policy.clockTolerance) refuse('iat (issued at) is in the future');
    }
    const issuedAt = typeof claims.iat === 'number' ? claims.iat : now;
    if (exp - issuedAt > policy.maxLifetime || exp - now > policy.maxLifetime + policy.clockTolerance) {
      refuse(`the client_assertion may live at most ${policy.maxLifetime} seconds`);
    }
  };
}
