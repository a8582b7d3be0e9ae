// DPoP proofs (RFC 9449) at the library's endpoints that take them, checked in front of the
// library and of the fast paths: the token endpoint (every grant, §5), pushed authorization
// requests (§10.1) and userinfo (a protected resource, §7). The proof rule and the replay store
// are the token core's (tokens/dpop-proofs.ts); this decides where they apply and how a refusal
// is answered:
//   token endpoint, PAR: 400 {"error": "invalid_dpop_proof" | "use_dpop_nonce"} (§5, §8);
//   userinfo:            401 with WWW-Authenticate: DPoP error=... (§7.1, §9).
// A proof that passes is left for the fast paths (tokens/dpop-proofs.ts dpopProofOf) and the library checks it again
// with its own code (features.dPoP); the library's own replay check is off (allowReplay, in
// config/features.ts) because the one here covers every instance and every endpoint, with the
// proof's own issue time (tokens/dpop-proofs.ts), where the library's would key on the client and
// guess the time.
import type { Context, Middleware, Next } from 'koa';
import { HttpError, renderJsonError } from '../http/errors.js';
import { challengeText } from '../tokens/bearer-auth.js';
import { dpopHeaders, rememberDpopProof, type DpopOutcome, type TakeDpopProof } from '../tokens/dpop-proofs.js';
import { dpopSigningAlgorithms } from '../verify/dpop-proof.js';

/** The library's endpoints that read a DPoP proof (its default routes), and what each is. */
const endpoints = new Map<string, { methods: ReadonlySet<string>; resource: boolean }>([
  ['/token', { methods: new Set(['POST']), resource: false }],
  ['/request', { methods: new Set(['POST']), resource: false }],
  ['/me', { methods: new Set(['GET', 'POST']), resource: true }],
]);

/**
 * The endpoint a path reaches in the library's router (oidc-provider/lib/helpers/router.js): any
 * case, one trailing slash allowed. Our paths are ASCII, and the router never folds a non-ASCII
 * character into an ASCII one, so an ASCII comparison is exact.
 */
function endpointOf(path: string): string | undefined {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const folded = trimmed.toLowerCase();
  return endpoints.has(folded) ? folded : undefined;
}

/** The access token of an `Authorization: DPoP` or `Bearer` header (RFC 9449 §7.1, RFC 6750 §2.1). */
function presentedAccessToken(ctx: Context): string | undefined {
  return /^(?:DPoP|Bearer) ([A-Za-z0-9\-._~+/]+=*)$/i.exec(ctx.get('authorization'))?.[1];
}


/** How a refused proof is answered: §5 at the token endpoint and PAR, §7.1 / §9 at a resource. */
export function dpopRefusal(outcome: Extract<DpopOutcome, { ok: false }>, resource: boolean): HttpError {
  const headers: Record<string, string> = outcome.nonce ? { 'DPoP-Nonce': outcome.nonce } : {};
  if (!resource) return new HttpError(400, outcome.error, outcome.description, headers);
  headers['WWW-Authenticate'] =
    `DPoP error="${outcome.error}", error_description="${challengeText(outcome.description)}", algs="${dpopSigningAlgorithms.join(' ')}"`;
  return new HttpError(401, outcome.error, outcome.description, headers);
}

export function createDpopGate(takeDpopProof: TakeDpopProof): Middleware {
  return async function dpopGate(ctx: Context, next: Next): Promise<void> {
    const path = ctx.get('dpop') === '' ? undefined : endpointOf(ctx.path);
    const endpoint = path === undefined ? undefined : endpoints.get(path);
    if (!endpoint || !endpoint.methods.has(ctx.method)) {
      await next();
      return;
    }
    const outcome = await takeDpopProof({
      proofs: dpopHeaders(ctx.req.rawHeaders),
      method: ctx.method,
      // As the library builds its own URL (koa: protocol and the host, pinned to the issuer's).
      url: `${ctx.protocol}://${ctx.host}${path}`,
      accessToken: endpoint.resource ? presentedAccessToken(ctx) : undefined,
    });
    if (!outcome.ok) {
      renderJsonError(ctx, dpopRefusal(outcome, endpoint.resource));
      return;
    }
    rememberDpopProof(ctx.req, outcome.proof);
    if (outcome.nonce) ctx.set('DPoP-Nonce', outcome.nonce);
    await next();
  };
}
