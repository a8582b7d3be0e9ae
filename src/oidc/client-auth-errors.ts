// How the token, introspection and revocation endpoints answer a client that did not
// authenticate (RFC 6749 §5.2):
// - no client authentication at all is `invalid_client` with 401 and a WWW-Authenticate challenge
//   (RFC 7662 §2.3 asks the same of introspection). The library answers 400 invalid_request;
//   we answer as the RFCs do;
// - a refused client assertion says why in `error_description` (below).
import type Provider from 'oidc-provider';
import { basicHeaderNamesNoClient } from '../http/basic-credentials.js';
import { HttpError, renderJsonError } from '../http/errors.js';
import type { ClientAssertionCheck } from './config/client-assertions.js';

// The library's route names: it serves them case-insensitively and with a trailing slash too.
const clientRoutes = new Set(['token', 'introspection', 'revocation']);

/** RFC 6749 §5.2 `invalid_client` with 401 and a challenge for the scheme we accept (RFC 7617). */
const clientAuthenticationRequired = new HttpError(401, 'invalid_client', 'client authentication is required', {
  'WWW-Authenticate': 'Basic realm="token"',
});

/** The request body as the library parsed it (a repeated parameter is an array). */
type ParsedBody = Partial<Record<string, unknown>>;

/** Present as the library reads parameters: an empty value counts as absent (oidc-provider/lib/helpers/params.js). */
const given = (value: unknown): boolean => value !== undefined && value !== '';

/**
 * True when the request identifies no client by any mechanism of RFC 6749 §2.3 / RFC 7523 §2.2:
 * no `client_id`, no `client_assertion`, and no Authorization header unless a Basic one whose id
 * is empty; a `client_secret` alone names no client either. Decided from the request itself, never
 * from the library's message text: the library refuses every such request with a plain 400
 * invalid_request (oidc-provider/lib/shared/client_auth.js `authenticateClient`), the same class,
 * code and status as any malformed request. A repeated `client_id` names a client (twice) and
 * keeps the library's own answer (parameters must not be provided twice).
 */
export function namesNoClient(body: ParsedBody, authorization: string | undefined): boolean {
  if (given(body.client_id) || given(body.client_assertion)) return false;
  return authorization === undefined || basicHeaderNamesNoClient(authorization);
}

export function answerMissingClientAuthWith401(provider: Provider): void {
  provider.use(async function missingClientAuthIs401(ctx, next) {
    await next();
    const answer = ctx.body as { error?: string } | undefined;
    // `body` is the request's, parsed; unset when the library refused the body itself (its type, its size).
    const oidc = ctx.oidc as { route?: string; body?: ParsedBody } | undefined;
    if (
      ctx.status === 400 &&
      answer?.error === 'invalid_request' &&
      clientRoutes.has(String(oidc?.route)) &&
      oidc?.body !== undefined &&
      namesNoClient(oidc.body, ctx.headers.authorization)
    ) {
      renderJsonError(ctx, clientAuthenticationRequired);
    }
  });
}

/**
 * RFC 6749 §5.2 lets `error_description` help the client developer. The library answers every
 * refused client assertion with the same "client authentication failed" and keeps the reason
 * for its events (oidc-provider/lib/helpers/errors.js InvalidClientAuth: the detail goes to `error_detail`,
 * which oidc-provider/lib/helpers/err_out.js never sends), so a library signing with other defaults (authlib:
 * aud = token endpoint, exp = 3600 s) cannot tell what to change. We describe the refusal from
 * the request's own assertion (config/client-assertions.ts `describeRefusal`), never from the
 * library's message text, and only for assertions: a wrong or unknown secret keeps the generic
 * answer. Every 401 invalid_client of these routes is an InvalidClientAuth.
 */
export function describeRefusedClientAssertions(provider: Provider, check: Pick<ClientAssertionCheck, 'describeRefusal'>): void {
  provider.use(async function describeRefusedClientAssertion(ctx, next) {
    await next();
    const body = ctx.body as { error?: string; error_description?: string } | undefined;
    const assertion = (ctx as { oidc?: { params?: Record<string, unknown> } }).oidc?.params?.client_assertion;
    if (
      ctx.status === 401 &&
      body?.error === 'invalid_client' &&
      typeof assertion === 'string' &&
      clientRoutes.has(String((ctx.oidc as { route?: string } | undefined)?.route))
    ) {
      ctx.body = { ...body, error_description: check.describeRefusal(ctx, assertion) };
    }
  });
}
