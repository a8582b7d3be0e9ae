// The library's prompts (login, consent) plus two checks that run on every authorization request:
// - the OpenID Connect scopes asked for must be in the client's `scope` metadata (the library
//   only sees the OIDC part of that metadata, client-metadata.ts, and when it is empty it would
//   allow any OIDC scope);
// - a session whose account is gone (user deleted or disabled) must log in again. Without it
//   the library carries on with no account and fails further down with a server error;
// - a session whose authentication falls short of what the client, the user or the request
//   demands (authentication-requirements.ts) must step up: the login prompt is requested with
//   our reason, and the interaction page asks only for the second factor. With prompt=none the
//   library answers login_required (OIDC Core §3.1.2.6).
import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { Catalog } from '../../catalog/catalog.js';
import { splitScope } from '../scopes.js';
import { acr, assessSession, requiredAuthentication } from '../authentication-requirements.js';

/** The login prompt's reason when the session must add a second factor (interactions/routes.ts). */
export const stepUpReason = 'second_factor_required';

export function createInteractionPolicy(catalog: Catalog) {
  const policy = interactionPolicy.base();
  const login = policy.get('login')!;
  login.checks.add(
    new interactionPolicy.Check(
      'scope_not_allowed',
      'the client asked for an OpenID Connect scope it was not registered for',
      'invalid_scope',
      async (ctx: KoaContextWithOIDC) => {
        const record = await catalog.findClient(ctx.oidc.client!.clientId);
        const allowed = splitScope(record?.metadata.scope);
        if (allowed.length === 0) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        for (const scope of ctx.oidc.requestParamOIDCScopes) {
          if (!allowed.includes(scope)) throw new errors.InvalidScope('requested scope is not allowed', scope);
        }
        return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      },
    ),
    0,
  );
  login.checks.add(
    new interactionPolicy.Check(
      'account_unavailable',
      'the signed-in account no longer exists or is disabled',
      'login_required',
      (ctx: KoaContextWithOIDC) => {
        // The library loaded the account for the session (findAccount) before the prompts run.
        const { session, account } = ctx.oidc;
        return session?.accountId && !account ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
      },
    ),
    1,
  );
  login.checks.add(
    new interactionPolicy.Check(
      stepUpReason,
      'the authentication of this session does not include the second factor this request requires',
      'login_required',
      async (ctx: KoaContextWithOIDC) => {
        const { session, account, client } = ctx.oidc;
        // No session, or its account is gone: other checks already ask for a full login.
        if (!session?.accountId || !account) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        const [clientRecord, user] = await Promise.all([catalog.findClient(client!.clientId), catalog.findUser(session.accountId)]);
        const params = ctx.oidc.params as Record<string, unknown>;
        const requirement = requiredAuthentication({
          clientRequiresMfa: clientRecord?.metadata.require_mfa === true,
          userRequiresMfa: user?.mfaRequired,
          acrValues: typeof params.acr_values === 'string' ? params.acr_values : undefined,
          maxAge: params.max_age as number | string | undefined,
        });
        const assessment = assessSession({ acr: session.acr, amr: session.amr, authTime: session.authTime() }, requirement);
        // A session too old for max_age is the library's max_age check's to answer (a full login).
        return !assessment.satisfied && assessment.shortfall === 'second_factor'
          ? interactionPolicy.Check.REQUEST_PROMPT
          : interactionPolicy.Check.NO_NEED_TO_PROMPT;
      },
      () => ({ required_acr: acr.mfa }),
    ),
  );
  return policy;
}
