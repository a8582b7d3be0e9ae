// Security events the provider raises, into the audit trail: refused client assertions (a stolen
// key, a replay, a confused client) and revoked grants (a replayed code or refresh token, or a
// client revoking its own token), with why.
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { unverifiedAssertionSubject } from './config/client-assertions.js';
import type { Audit } from '../audit/audit.js';

function whyGrantRevoked(ctx: KoaContextWithOIDC): string {
  const grantType = (ctx.oidc.params)?.grant_type;
  if (ctx.oidc.route === 'revocation') return 'token revoked by the client (RFC 7009)';
  if (grantType === 'authorization_code') return 'authorization code used twice (RFC 9700 §4.2.4)';
  if (grantType === 'refresh_token') return 'rotated refresh token reused (RFC 9700 §4.14.2)';
  return `revoked at ${ctx.oidc.route}`;
}

export function auditProviderEvents(provider: Provider, audit: Audit): void {
  const recordRefusedAssertion = (ctx: KoaContextWithOIDC, error: Error) => {
    const params = ctx.oidc?.params;
    if (!(error instanceof errors.InvalidClientAuth) || typeof params?.client_assertion !== 'string') return;
    void audit.record({
      type: 'client_assertion_refused',
      outcome: 'failure',
      clientId: unverifiedAssertionSubject(params.client_assertion),
      details: { reason: (error as { error_detail?: string }).error_detail ?? error.message, endpoint: ctx.oidc?.route },
    });
  };
  provider.on('grant.error', recordRefusedAssertion);
  provider.on('introspection.error', recordRefusedAssertion);
  provider.on('revocation.error', recordRefusedAssertion);

  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    void audit.record({
      type: 'grant_revoked',
      outcome: 'success',
      clientId: ctx.oidc.client?.clientId,
      details: { grant_id: grantId, reason: whyGrantRevoked(ctx) },
    });
  });
}
