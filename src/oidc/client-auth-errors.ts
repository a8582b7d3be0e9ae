// How the token, introspection and revocation endpoints answer a client that did not
// authenticate (RFC 6749 §5.2):
// - no client authentication at all is `invalid_client` with 401 and a WWW-Authenticate challenge
//   (RFC 7662 §2.3 asks the same of introspection). The library answers 400 invalid_request
//   ("no client authentication mechanism provided"); we answer as the RFCs do;
// - a refused client assertion says why in `error_description` (below).
import type Provider from 'oidc-provider';
import { HttpError, renderJsonError } from '../http/errors.js';
import type { ClientAssertionCheck } from './config/client-assertions.js';

// The library's route names: it serves them case-insensitively and with a trailing slash too.
const clientRoutes = new Set(['token', 'introspection', 'revocation']);

/** RFC 6749 §5.2 `invalid_client` with 401 and a challenge for the scheme we accept (RFC 7617). */
const clientAuthenticationRequired = new HttpError(401, 'invalid_client', 'client authentication is required', {
  'WWW-Authenticate': 'Basic realm="token"',
});

/**
 * The one place we recognise a library answer by its text. The library refuses a request with no
 * client authentication with a plain InvalidRequest whose description is its only trait
 * (https://github.com/panva/node-oidc-provider/blob/v9.13.3/lib/shared/client_auth.js,
 * `authenticateClient`: `if (!clientId) throw new InvalidRequest('no client authentication
 * mechanism provided')`): same class, code and status as every other malformed request, no
 * property of its own, thrown after a dozen branches (an empty client_id, a client_secret without
 * a client_id, a Basic header naming no client all end there) that telling the case from the
 * request would have to copy. The library is pinned to its minor version (package.json); should
 * the text change, the answer falls back to the library's own 400 invalid_request, still a refusal.
 */
const noClientAuthentication = 'no client authentication mechanism provided';

export function answerMissingClientAuthWith401(provider: Provider): void {
  provider.use(async function missingClientAuthIs401(ctx, next) {
    await next();
    const body = ctx.body as { error?: string; error_description?: string } | undefined;
    if (
      ctx.status === 400 &&
      clientRoutes.has(String((ctx.oidc as { route?: string } | undefined)?.route)) &&
      body?.error === 'invalid_request' &&
      body.error_description === noClientAuthentication
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
