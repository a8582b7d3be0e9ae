// The client-credentials fast path: a well-formed `client_credentials` request for a JWT API,
// by a client authenticating with its secret or an inline-key private_key_jwt, is answered here,
// in front of oidc-provider, with the same decision and the same token the library would produce.
// The library's token endpoint spends most of its time on generality this request does not need
// (bench/README.md: the bare library is the speed to match); everything else, including every error
// answer, is still the library's: any request this path is not certain about is handed on as
// it came (the body it read included, token-form.ts), and the library decides it from scratch.
//
// Transport only: the decision is the token core's (tokens/client-credentials.ts, the one the
// library path asks from config/resource-indicators.ts), and so are the claims, header and key
// (tokens/access-token-signer.ts, as oidc-provider/lib/models/formats/jwt.js builds them); what is left here
// is reading the form, authenticating the client, spending its assertion, signing and the
// RFC 6749 §5.1 response with `Cache-Control: no-store`.
import type { Context } from 'koa';
import type { Counter } from 'prom-client';
import type { ResourceAccess } from '../../tokens/resource-access.js';
import type { SignAccessToken } from '../../tokens/access-token-signer.js';
import { decideClientCredentials } from '../../tokens/client-credentials.js';
import { issuedTokenCounter } from '../../tokens/issued-tokens.js';
import { issuedAtMsClaim } from '../../tokens/token-claims.js';
import { clientAuthenticationParameters, presentedCredentials, verifyClient, type ClientAuthenticationDeps } from './client-authentication.js';
import type { FastAnswer } from './fast-path.js';
import { dpopProofOf } from '../../tokens/dpop-proofs.js';
import { clientConstraintRefusal, senderConstraintRefusal } from '../../tokens/sender-constraint.js';
import { issueToken } from './issue-token.js';
import { onlyUnderstood, type Form } from './token-form.js';

export interface ClientCredentialsFastPathDeps extends ClientAuthenticationDeps {
  issuer: string;
  access: ResourceAccess;
  signAccessToken: SignAccessToken;
  tokensIssued: Counter<'grant_type'>;
}

/** Parameters this path understands; a request with any other goes to the library. */
const understood = new Set(['grant_type', 'scope', 'resource', ...clientAuthenticationParameters]);

export function createClientCredentialsGrant(deps: ClientCredentialsFastPathDeps): FastAnswer {
  const issuing = { signAccessToken: deps.signAccessToken, countIssued: issuedTokenCounter(deps.tokensIssued) };

  return async function clientCredentialsGrant(ctx: Context, form: Form): Promise<boolean> {
    // The issue time is taken before anything is checked, so a revocation of the client that
    // lands while this request is being decided revokes the token it yields (fails closed).
    const issuedAt = Date.now();
    if (!form.resource || !onlyUnderstood(form, understood)) return false;
    const presented = presentedCredentials(ctx, form);
    const verified = presented && (await verifyClient(ctx, presented, deps, 'client_credentials'));
    if (!verified) return false;
    const { client } = verified;
    // RFC 9449 §5: a proof the gate accepted (oidc/dpop-gate.ts) binds the token to its key; a
    // client registered for bound tokens without one is the library's to refuse.
    const proof = dpopProofOf(ctx.req);
    if (clientConstraintRefusal(client, proof !== undefined)) return false;
    const api = await deps.access.find(form.resource);
    if (!api || api.accessTokenFormat !== 'jwt' || senderConstraintRefusal(api, proof !== undefined)) return false;
    // The scope as it came, split on spaces only (RFC 6749 §3.3): anything but plain API scopes
    // of this client is refused by the decision, and so handed to the library.
    const requested = form.scope === undefined ? [] : form.scope.split(' ');
    const decision = decideClientCredentials(api, await deps.access.reachableScopes(api, client.clientId), requested);
    if (!decision.ok) return false;
    return issueToken(ctx, issuing, verified, {
      grantType: 'client_credentials',
      content: {
        extra: { [issuedAtMsClaim]: issuedAt },
        sub: client.clientId,
        iat: Math.floor(issuedAt / 1000),
        lifetime: decision.lifetime,
        scope: decision.scope,
        clientId: client.clientId,
        issuer: deps.issuer,
        audience: api.identifier,
        jkt: proof?.jkt,
      },
      answer: (accessToken) => ({
        access_token: accessToken,
        expires_in: decision.lifetime,
        scope: decision.scope,
        token_type: proof ? 'DPoP' : 'Bearer',
      }),
    });
  };
}
