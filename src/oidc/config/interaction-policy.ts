// The library's prompts (login, consent) plus one check: a session whose account is gone
// (user deleted or disabled) must log in again. Without it the library carries on with no
// account and fails further down with a server error, locking that browser out.
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

export function createInteractionPolicy() {
  const policy = interactionPolicy.base();
  const login = policy.get('login')!;
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
    0,
  );
  return policy;
}
