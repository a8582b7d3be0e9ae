// The client-credentials fast path: a well-formed `client_credentials` request for a JWT API,
// by a client authenticating with its secret or an inline-key private_key_jwt, is answered here,
// in front of oidc-provider, with the same policy and the same token the library would produce.
// The library's token endpoint spends most of its time on generality this request does not need
// (issue #7: the bare library is the speed to match); everything else, including every error
// answer, is still the library's: any request this path is not certain about is handed on as
// it came (the body it read included, token-form.ts), and the library decides it from scratch.
//
// Same as the library (lib/actions/grants/client_credentials.js, lib/models/formats/jwt.js):
// the scope policy (resource-access.ts, as config/resource-indicators.ts applies it), the
// claims (`iat_ms` from config/extra-token-claims.ts, then `jti`, `sub` = `client_id`, `iat`,
// `exp` = `iat` + the API's TTL, `scope`, `client_id`, `iss`, `aud`; RFC 9068 §2.2), the `at+jwt` header and signing key, the response
// members (RFC 6749 §5.1) and `Cache-Control: no-store`.
import type { Context } from 'koa';
import type { Counter } from 'prom-client';
import type { ResourceAccess } from '../resource-access.js';
import { oidcScopes } from '../scopes.js';
import { clientAuthenticationParameters, presentedCredentials, verifyClient, type ClientAuthenticationDeps } from './client-authentication.js';
import type { SignAccessToken } from './access-token-signer.js';
import type { FastAnswer } from './fast-path.js';
import { onlyUnderstood, type Form } from './token-form.js';
import { newTokenId } from './token-ids.js';
import { issuedAtMsClaim } from '../../revocation/token-claims.js';

export interface ClientCredentialsFastPathDeps extends ClientAuthenticationDeps {
  issuer: string;
  access: ResourceAccess;
  signAccessToken: SignAccessToken;
  tokensIssued: Counter<'grant_type'>;
}

/** Parameters this path understands; a request with any other goes to the library. */
const understood = new Set(['grant_type', 'scope', 'resource', ...clientAuthenticationParameters]);

/** RFC 6749 §3.3 scope syntax, as the library checks it (lib/helpers/is_valid_scope.js). */
const scopeSyntax = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;

/**
 * The scope to grant at the API: the requested scopes (each once, in the order asked) when every
 * one is an API scope this client may have there; every such scope when none is asked for
 * (config/resource-indicators.ts). Undefined otherwise: the library answers invalid_scope or
 * invalid_target, or handles OpenID scopes.
 */
function grantedScope(requested: string | undefined, reachable: readonly string[]): string | undefined {
  if (requested === undefined) return reachable.join(' ');
  if (!scopeSyntax.test(requested)) return undefined;
  const scopes = [...new Set(requested.split(' '))];
  return scopes.every((scope) => !oidcScopes.has(scope) && reachable.includes(scope)) ? scopes.join(' ') : undefined;
}

export function createClientCredentialsGrant(deps: ClientCredentialsFastPathDeps): FastAnswer {
  const issued = deps.tokensIssued.labels({ grant_type: 'client_credentials' });

  return async function clientCredentialsGrant(ctx: Context, form: Form): Promise<boolean> {
    // The issue time is taken before anything is checked, so a revocation of the client that
    // lands while this request is being decided revokes the token it yields (fails closed).
    const issuedAt = Date.now();
    if (!form.resource || !onlyUnderstood(form, understood)) return false;
    const presented = presentedCredentials(ctx, form);
    const verified = presented && (await verifyClient(ctx, presented, deps, 'client_credentials'));
    if (!verified) return false;
    const { client } = verified;
    const api = await deps.access.find(form.resource);
    if (!api || api.accessTokenFormat !== 'jwt') return false;
    const scope = grantedScope(form.scope, await deps.access.reachableScopes(api, client.clientId));
    if (!scope) return false;
    const iat = Math.floor(issuedAt / 1000);
    // Signed while the assertion's `jti` is being spent (the Redis round trip), and thrown away
    // unless that succeeds. Last step: nothing after the commit may hand the request on.
    const [committed, accessToken] = await Promise.all([
      verified.commit(),
      deps.signAccessToken({
        [issuedAtMsClaim]: issuedAt,
        jti: newTokenId(),
        sub: client.clientId,
        iat,
        exp: iat + api.accessTokenTtl,
        scope,
        client_id: client.clientId,
        iss: deps.issuer,
        aud: api.identifier,
      }),
    ]);
    if (!committed) return false;
    // Whoever authenticated counts against the per-client rate (throttle/request-rates.ts).
    ctx.state.authenticatedClientId = client.clientId;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { access_token: accessToken, expires_in: api.accessTokenTtl, scope, token_type: 'Bearer' };
    issued.inc();
    return true;
  };
}
