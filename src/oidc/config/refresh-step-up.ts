// A refresh token (RFC 6749 §6) yields new tokens for the authentication it was issued after: the
// library's RefreshToken keeps that sign-in's acr, amr and auth_time (oidc-provider/lib/helpers/grant_common.js
// copies them from the code, and every rotation copies them on). A second factor demanded later,
// by the client's `require_mfa` or the user's `mfa_required`, must hold for it too, or a
// password-only sign-in keeps yielding ID and access tokens for the refresh token's lifetime
// (ttl.ts: 14 days). The same rule as for sessions (authentication-requirements.ts), without the
// request parameters: a refresh has no acr_values or max_age of its own (OIDC Core §12.2).
//
// Where: the library's documented `rotateRefreshToken(ctx)` hook. oidc-provider/lib/actions/grants/refresh_token.js
// calls it on every refresh grant, after the client is authenticated and the token, its grant and
// its account are validated (ctx.oidc.entities RefreshToken, Client, Account), after a consumed
// token's replay has revoked the grant (RFC 9700 §4.14.2), and before anything is rotated or
// issued. An error thrown there is the grant's answer. The token itself is left as it is: it works
// again if the requirement is lifted, and signing in with the second factor gives a new one.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Audit } from '../../audit/audit.js';
import type { Catalog } from '../../catalog/catalog.js';
import { assessSession, requiredAuthentication, type Assessment } from '../authentication-requirements.js';

interface RefreshTokenEntity {
  accountId: string;
  acr?: string | undefined;
  amr?: string[] | undefined;
  authTime?: number | undefined;
}

type Shortfall = Exclude<Assessment, { satisfied: true }>;

/** RFC 6749 §5.2 `invalid_grant`, with what the user has to do in `error_description`. */
function refusal(shortfall: Shortfall): errors.InvalidGrant {
  const description =
    shortfall.shortfall === 'second_factor'
      ? 'the user must sign in again with a second factor'
      : 'the user must sign in again (the time of the sign-in this refresh token was issued for is unknown)';
  const error = new errors.InvalidGrant(`refresh token authentication falls short: ${shortfall.shortfall}`);
  // The library's InvalidGrant always says "grant request is invalid" (oidc-provider/lib/helpers/errors.js) and
  // keeps its detail from the client (oidc-provider/lib/helpers/err_out.js sends error_description only).
  return Object.assign(error, { error_description: description });
}

export function createRefreshTokenRotation(deps: { catalog: Catalog; audit: Audit }) {
  /** Refuses the grant if the token's sign-in falls short; otherwise rotates on every use (RFC 9700 §4.14.2). */
  return async function rotateRefreshTokenMeetingRequirements(ctx: KoaContextWithOIDC): Promise<true> {
    const refreshToken = ctx.oidc.entities.RefreshToken as RefreshTokenEntity | undefined;
    const clientId = ctx.oidc.client?.clientId;
    // Never without them (see above); if the library ever calls this elsewhere, nothing passes.
    if (!refreshToken || !clientId) throw new errors.InvalidGrant('refresh token step-up check ran without a refresh token');
    const [client, user] = await Promise.all([deps.catalog.findClient(clientId), deps.catalog.findUser(refreshToken.accountId)]);
    const requirement = requiredAuthentication({
      clientRequiresMfa: client?.metadata.require_mfa === true,
      userRequiresMfa: user?.mfaRequired,
      acrValues: undefined,
      maxAge: undefined,
    });
    const assessment = assessSession({ acr: refreshToken.acr, amr: refreshToken.amr, authTime: refreshToken.authTime }, requirement);
    if (assessment.satisfied) return true;
    await deps.audit.record({
      type: 'refresh_token_refused',
      outcome: 'failure',
      clientId,
      sub: refreshToken.accountId,
      details: {
        reason: assessment.shortfall === 'second_factor' ? 'second factor required' : 'sign-in time unknown',
        ...(requirement.sources.length ? { second_factor_required_by: requirement.sources } : {}),
      },
    });
    throw refusal(assessment);
  };
}
