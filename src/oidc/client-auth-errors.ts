// RFC 6749 §5.2: a request to the token, introspection or revocation endpoint that does not
// authenticate its client at all is `invalid_client` with 401 and a WWW-Authenticate challenge
// (RFC 7662 §2.3 asks the same of introspection). The library answers 400 invalid_request
// ("no client authentication mechanism provided"); we answer as the RFCs do.
import type Provider from 'oidc-provider';

// The library's route names: it serves them case-insensitively and with a trailing slash too.
const clientRoutes = new Set(['token', 'introspection', 'revocation']);

export function answerMissingClientAuthWith401(provider: Provider): void {
  provider.use(async function missingClientAuthIs401(ctx, next) {
    await next();
    const body = ctx.body as { error?: string; error_description?: string } | undefined;
    if (
      ctx.status === 400 &&
      clientRoutes.has(String((ctx.oidc as { route?: string } | undefined)?.route)) &&
      body?.error === 'invalid_request' &&
      body.error_description === 'no client authentication mechanism provided'
    ) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Basic realm="token"');
      ctx.body = { error: 'invalid_client', error_description: 'client authentication is required' };
    }
  });
}
