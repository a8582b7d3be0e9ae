// GET|POST /forward-auth: authentication by subrequest for API gateways (nginx `auth_request`,
// Traefik `forwardAuth`, Envoy `ext_authz` over HTTP, HAProxy with a Lua action). The contract:
//
//   request   the caller's own `Authorization` (Bearer or DPoP) and `DPoP` headers, as received;
//             `X-Forwarded-Method`, `X-Forwarded-Proto`, `X-Forwarded-Host`, `X-Forwarded-Uri`:
//             the request the caller made (a DPoP proof names its method and URL, RFC 9449 §4.2);
//             `Gateway-Authorization: Basic <gateway client id:secret>` (RFC 7617): the gateway is
//             a registered client that acts for the APIs behind it (their `client_id`).
//   200       `Authorization: Bearer <inner JWT>` for the gateway to send upstream in place of the
//             caller's: the token itself when it is a JWT, the phantom JWT for an opaque token
//             (tokens/phantom-token.ts). `Cache-Control: max-age` says how long the answer may be
//             reused for this token (never past its `exp`, at most 30 s; never for a DPoP request,
//             whose proof is single-use).
//   401       with the `WWW-Authenticate` a resource server would send (RFC 6750 §3, RFC 9449 §7.1),
//             for the gateway to pass on: no token, an invalid, expired or revoked one, one for an
//             API this gateway does not act for, a bad proof, a bound token without its proof.
//   403       `Gateway-Authorization` missing or wrong: the gateway itself is misconfigured.
//
// A DPoP-bound token keeps its `cnf.jkt` in the inner JWT: the gateway checked the proof, and the
// services behind it accept such a JWT without one (portcullis/verify `dpopCheckedUpstream`).
import type Router from '@koa/router';
import type { Context } from 'koa';
import { decodeJwt } from 'jose';
import { createRouter } from '../http/router.js';
import { forwardedHostOf } from '../http/pin-host.js';
import { HttpError } from '../http/errors.js';
import { readBasicCredentials, formDecode } from '../http/basic-credentials.js';
import { clientSecretMatches } from '../credentials/client-secrets.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Logger } from '../log.js';
import { checkSenderConstraint, presentedToken, unauthorized } from '../tokens/bearer-auth.js';
import type { TakeDpopProof } from '../tokens/dpop-proofs.js';
import { phantomTokenFor, type PhantomTokenDeps } from '../tokens/phantom-token.js';
import { senderConstraintRefusal } from '../tokens/sender-constraint.js';
import { servingProvider } from '../oidc/serving-provider.js';

export const forwardAuthPath = '/forward-auth';
const realm = 'gateway';
const maxReuseSeconds = 30;

export interface ForwardAuthDeps {
  catalog: Catalog;
  phantomTokens: PhantomTokenDeps;
  takeDpopProof: TakeDpopProof;
  log: Logger;
}

const gatewayRefused = new HttpError(403, 'invalid_client', 'Gateway-Authorization must name a registered gateway client and its secret');

/** The gateway client named by `Gateway-Authorization` (RFC 7617 Basic, RFC 6749 §2.3.1 encoding). */
async function authenticateGateway(ctx: Context, catalog: Catalog, log: Logger): Promise<string> {
  const credentials = readBasicCredentials(ctx.get('gateway-authorization'));
  const id = credentials && formDecode(credentials.rawId);
  const secret = credentials && formDecode(credentials.rawSecret);
  const client = id ? await catalog.findClient(id) : undefined;
  if (!client || secret === undefined || !clientSecretMatches(secret, client.secretDigest)) {
    log.warn({ gateway: id ?? null }, 'forward-auth: gateway credentials refused');
    throw gatewayRefused;
  }
  return client.clientId;
}

/** The request the caller made, as the gateway reports it (the Traefik convention). */
function forwardedRequest(ctx: Context): { method: string; url: string } | undefined {
  const method = ctx.get('x-forwarded-method');
  const proto = ctx.get('x-forwarded-proto');
  // The host pin takes X-Forwarded-Host off every request (http/pin-host.ts); it kept it for us.
  const host = forwardedHostOf(ctx) ?? '';
  const uri = ctx.get('x-forwarded-uri');
  if (!method || !proto || !host || !uri.startsWith('/')) return undefined;
  const url = URL.parse(`${proto}://${host}${uri}`);
  return url ? { method: method.toUpperCase(), url: `${url.origin}${url.pathname}` } : undefined;
}

export function createForwardAuthRoutes(deps: ForwardAuthDeps): Router {
  const router = createRouter();
  router.all(forwardAuthPath, async function forwardAuth(ctx) {
    ctx.set('Cache-Control', 'no-store');
    const gateway = await authenticateGateway(ctx, deps.catalog, deps.log);
    const { scheme, token } = presentedToken(ctx, realm);
    const inner = await phantomTokenFor(deps.phantomTokens, servingProvider(ctx), gateway, token);
    if (!inner) throw unauthorized(realm, 'the access token is not valid for this API', 'invalid_token', scheme);
    const claims = decodeJwt(inner);
    const jkt = typeof claims.cnf === 'object' && claims.cnf !== null ? (claims.cnf as { jkt?: unknown }).jkt : undefined;
    const target = forwardedRequest(ctx);
    if (scheme === 'DPoP' || jkt !== undefined) {
      if (!target) throw unauthorized(realm, 'the gateway must send X-Forwarded-Method, -Proto, -Host and -Uri with a DPoP request', 'invalid_request', 'DPoP');
      await checkSenderConstraint(ctx, deps.takeDpopProof, realm, scheme, token, typeof jkt === 'string' ? jkt : undefined, target);
    }
    const api = await deps.phantomTokens.access.find(String(claims.aud));
    const unbound = api && senderConstraintRefusal(api, jkt !== undefined);
    if (unbound) throw unauthorized(realm, unbound, 'invalid_token', 'DPoP');
    ctx.set('Authorization', `Bearer ${inner}`);
    if (scheme === 'Bearer') {
      const reuse = Math.min(maxReuseSeconds, (claims.exp ?? 0) - Math.floor(Date.now() / 1000));
      if (reuse > 0) ctx.set('Cache-Control', `max-age=${reuse}`);
    }
    ctx.status = 200;
    ctx.body = '';
  });
  return router;
}
