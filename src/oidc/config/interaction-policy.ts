// The library's prompts (login, consent) plus two checks that run on every authorization request:
// - the OpenID Connect scopes asked for must be in the client's `scope` metadata (the library
//   only sees the OIDC part of that metadata, client-metadata.ts, and when it is empty it would
//   allow any OIDC scope);
// - a session whose account is gone (user deleted or disabled) must log in again. Without it
//   the library carries on with no account and fails further down with a server error.
import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { Catalog } from '../../catalog/catalog.js';
import { splitScope } from '../scopes.js';

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
  return policy;
}
