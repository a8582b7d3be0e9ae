// RFC 8707 resource indicators backed by the APIs table. An API's identifier becomes the `aud`
// of its access tokens, which are RFC 9068 JWTs (ES256) living for the API's TTL.
//
// Scope policy (DESIGN.md): a client may request only scopes that are in its own `scope`
// metadata and that the target API defines; a client holding none of an API's scopes cannot
// reach that API at all (invalid_target).
import { errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import { oidcScopes, splitScope } from '../scopes.js';
import type { ResourceAccess } from '../resource-access.js';
import { refuseUnknownScopes } from './unknown-scopes.js';

export const accessTokenSigningAlg = 'ES256';

function requestedApiScopes(ctx: KoaContextWithOIDC): string[] {
  const scope = (ctx.oidc.params as Record<string, unknown> | undefined)?.scope;
  return splitScope(scope).filter((value) => !oidcScopes.has(value));
}

export function resourceIndicatorsConfig(access: ResourceAccess) {
  // Without a `resource` parameter, a client_credentials request names its API through its
  // scopes: when exactly one API the client may reach defines every requested scope, that API
  // is meant (so `scope=admin` alone yields an admin token); with no scope either, the client's
  // only reachable API. Anything else must say `resource` (RFC 8707 §2: the server may apply a
  // default when none is given).
  async function defaultResource(ctx: KoaContextWithOIDC, client: { clientId: string }, oneOf?: string[]) {
    if (oneOf) return oneOf;
    await refuseUnknownScopes(ctx, client, access);
    if ((ctx.oidc.params as Record<string, unknown>).grant_type !== 'client_credentials') return undefined;
    const requested = requestedApiScopes(ctx);
    const candidates: string[] = [];
    for (const api of await access.all()) {
      const reachable = await access.reachableScopes(api, client.clientId);
      if (reachable.length && requested.every((scope) => reachable.includes(scope))) candidates.push(api.identifier);
    }
    if (candidates.length === 1) return candidates[0];
    throw new errors.InvalidTarget(
      candidates.length === 0
        ? 'no API the client may reach defines the requested scopes'
        : 'several APIs match; name one with the resource parameter',
    );
  }

  async function getResourceServerInfo(
    ctx: KoaContextWithOIDC,
    identifier: string,
    client: { clientId: string },
  ): Promise<ResourceServer> {
    const api = await access.find(identifier);
    if (!api) throw new errors.InvalidTarget('unknown resource');
    const reachable = await access.reachableScopes(api, client.clientId);
    if (reachable.length === 0) throw new errors.InvalidTarget('the client may not request tokens for this resource');
    const requested = requestedApiScopes(ctx);
    for (const scope of requested) {
      if (!api.scopes.includes(scope)) throw new errors.InvalidScope('requested scope is not defined by the resource', scope);
      if (!reachable.includes(scope)) throw new errors.InvalidScope('requested scope is not allowed for this client', scope);
    }
    // A client-credentials request that names no scope gets every scope it may have at this API
    // (RFC 6749 §3.3 lets the server apply a default), so its token always carries `scope`.
    const params = ctx.oidc.params as Record<string, unknown>;
    if (params.grant_type === 'client_credentials' && requested.length === 0) params.scope = reachable.join(' ');
    return {
      audience: api.identifier,
      scope: reachable.join(' '),
      accessTokenTTL: api.accessTokenTtl,
      accessTokenFormat: api.accessTokenFormat,
      ...(api.accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: accessTokenSigningAlg } } } : {}),
    };
  }

  return {
    enabled: true,
    defaultResource,
    getResourceServerInfo,
    // A code or refresh token redeemed without `resource` yields a token for the API it was
    // granted for, except in OpenID Connect flows, where it yields a userinfo token and the API
    // token is asked for by naming the API (RFC 8707 §2.2).
    useGrantedResource: (_ctx: KoaContextWithOIDC, model: { scopes: Set<string> }) => !model.scopes.has('openid'),
  };
}
