// RFC 8707 resource indicators backed by the APIs table. An API's identifier becomes the `aud`
// of its access tokens, which are RFC 9068 JWTs (tokens/format.ts) living for the API's TTL.
//
// Scope policy: the token core's one rule (tokens/granted-scopes.ts), through the
// client-credentials decision for that grant (tokens/client-credentials.ts); a refusal is thrown
// as the library's error and the library issues what was decided.
import { errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import { apiScopesOf } from '../../tokens/scopes.js';
import type { ResourceAccess } from '../../tokens/resource-access.js';
import { decideClientCredentials } from '../../tokens/client-credentials.js';
import { grantApiScopes, scopeRefusalError } from '../../tokens/granted-scopes.js';
import { resourceServerInfo } from '../../tokens/format.js';
import { refuseUnknownScopes } from './unknown-scopes.js';
import { dpopProofOf } from '../../tokens/dpop-proofs.js';
import { senderConstraintRefusal } from '../../tokens/sender-constraint.js';

export function resourceIndicatorsConfig(access: ResourceAccess) {
  // Without a `resource` parameter, a client_credentials request names its API through its
  // scopes: when exactly one API the client may reach defines every requested scope, that API
  // is meant (so `scope=admin` alone yields an admin token); with no scope either, the client's
  // only reachable API. Anything else must say `resource` (RFC 8707 §2: the server may apply a
  // default when none is given).
  async function defaultResource(ctx: KoaContextWithOIDC, client: { clientId: string }, oneOf?: readonly string[]) {
    // The library's read-only list of the grant's resources: answer with a copy of it.
    if (oneOf) return [...oneOf];
    await refuseUnknownScopes(ctx, client, access);
    if ((ctx.oidc.params as Record<string, unknown>).grant_type !== 'client_credentials') return undefined;
    const requested = apiScopesOf(ctx.oidc.params?.scope);
    const candidates: string[] = [];
    for (const api of await access.all()) {
      if (grantApiScopes(requested, api, await access.reachableScopes(api, client.clientId)).ok) candidates.push(api.identifier);
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
    // At the token endpoint, where the token is issued (the authorization endpoint names the API
    // too, but no token comes from there): the proof the gate accepted (oidc/dpop-gate.ts).
    if (ctx.oidc.route === 'token') {
      const refusal = senderConstraintRefusal(api, dpopProofOf(ctx.req) !== undefined);
      if (refusal) throw new errors.InvalidRequest(refusal);
    }
    const reachable = await access.reachableScopes(api, client.clientId);
    const requested = apiScopesOf(ctx.oidc.params?.scope);
    const params = ctx.oidc.params as Record<string, unknown>;
    if (params.grant_type === 'client_credentials') {
      const decision = decideClientCredentials(api, reachable, requested);
      if (!decision.ok) throw scopeRefusalError(decision.refusal, 'resource');
      // A client-credentials request that names no scope gets every scope it may have at this
      // API (RFC 6749 §3.3 lets the server apply a default), so its token always carries `scope`.
      if (requested.length === 0) params.scope = decision.scope;
    } else {
      const granted = grantApiScopes(requested, api, reachable);
      if (!granted.ok) throw scopeRefusalError(granted.refusal, 'resource');
    }
    return resourceServerInfo(api, reachable, api.accessTokenTtl);
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
