// Scopes this server does not know are refused, not dropped (RFC 6749 §3.3: the server "MAY
// fully or partially ignore the scope requested"; §4.1.2.1 and §5.2 name `invalid_scope` for a
// scope that is "invalid, unknown, or malformed"). A silently dropped scope is a bug the app's
// developer only finds when an API refuses the token; an error at the request names it.
//
// Runs from the resource-indicators `defaultResource` hook (config/resource-indicators.ts), the
// one documented hook the library calls for every authorization request and client-credentials
// request that names no `resource` (oidc-provider/lib/shared/check_resource.js), before interactions and after
// the client and its redirect_uri are checked, so the refusal is redirected to the client
// (oidc-provider/lib/shared/authorization_error_handler.js). Requests that name a resource are answered by
// `getResourceServerInfo`, which looks only at the API named (one the client may reach).
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { ResourceAccess } from '../../tokens/resource-access.js';
import { scopeRefusalError } from '../../tokens/granted-scopes.js';
import { apiScopesOf, oidcScopes } from '../../tokens/scopes.js';

const authorizationRoutes = new Set(['authorization', 'pushed_authorization_request']);

const knownWithoutResource = [...oidcScopes].join(', ');

/**
 * Authorization request without `resource`: the library keeps only the OpenID Connect scopes
 * (oidc-provider/lib/shared/check_resource.js filterStatics), so an API scope here would be dropped. Refused
 * without looking at the catalog, so the answer tells an unauthenticated caller nothing about
 * which API scopes exist. Scope values have passed the RFC 6749 §3.3 syntax check
 * (oidc-provider/lib/actions/authorization/scopes.js), which also makes them safe in error_description.
 */
function refuseAuthorizationScopes(ctx: KoaContextWithOIDC): void {
  const [unknown] = apiScopesOf(ctx.oidc.params?.scope);
  if (unknown === undefined) return;
  throw new errors.InvalidScope(
    `unknown scope ${unknown}: without a resource parameter only ${knownWithoutResource} are known; an API scope needs resource=<the API identifier> (RFC 8707)`,
    unknown,
  );
}

/**
 * Client credentials without `resource` (an authenticated client): a scope no API defines and
 * a scope the client holds at no API are both invalid_scope, as with a resource
 * (config/resource-indicators.ts), rather than "no API matches" (invalid_target). They get one
 * and the same answer: telling them apart would let any client that can authenticate learn,
 * one guess at a time, which scope names every API defines (CWE-204, observable response
 * discrepancy). The client's developer knows its own registration, so "not allowed for this
 * client" is enough to go on; the error's `scope` member names the refused scope.
 */
async function refuseClientCredentialsScopes(ctx: KoaContextWithOIDC, clientId: string, access: ResourceAccess): Promise<void> {
  const requested = apiScopesOf(ctx.oidc.params?.scope);
  if (requested.length === 0) return;
  const apis = await access.all();
  const reachable = new Set((await Promise.all(apis.map((api) => access.reachableScopes(api, clientId)))).flat());
  const refused = requested.find((scope) => !reachable.has(scope));
  if (refused !== undefined) throw scopeRefusalError({ error: 'invalid_scope', reason: 'not_allowed', scope: refused }, 'resource');
}

/** For `defaultResource`: refuses the request's unknown scopes, or returns having done nothing. */
export async function refuseUnknownScopes(ctx: KoaContextWithOIDC, client: { clientId: string }, access: ResourceAccess): Promise<void> {
  if (authorizationRoutes.has(String(ctx.oidc.route))) return refuseAuthorizationScopes(ctx);
  const params = ctx.oidc.params;
  if (ctx.oidc.route === 'token' && params?.grant_type === 'client_credentials') await refuseClientCredentialsScopes(ctx, client.clientId, access);
}
