// The library's prompts (login, consent) plus checks of ours that run on every authorization request:
// - the OpenID Connect scopes asked for must be in the client's `scope` metadata (the library
//   only sees the OIDC part of that metadata, client-metadata.ts, and when it is empty it would
//   allow any OIDC scope);
// - a session whose account is gone (user deleted or disabled) must log in again. Without it
//   the library carries on with no account and fails further down with a server error;
// - a session whose authentication falls short of what the client, the user or the request
//   demands (authentication-requirements.ts) must step up: the login prompt is requested with
//   our reason, and the interaction page asks only for the second factor. With prompt=none the
//   library answers login_required (OIDC Core §3.1.2.6);
// - a session whose login time is unknown, or a step-up whose earlier sign-in has meanwhile
//   passed max_age, signs in again from the start.
import { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Catalog } from '../../catalog/catalog.js';
import { splitScope } from '../../tokens/scopes.js';
import { acr, assessSession, requestedByParameters, requiredAuthentication, type Assessment } from '../authentication-requirements.js';

/** The login prompt's reason when the session must add a second factor (interactions/routes.ts). */
export const stepUpReason = 'second_factor_required';
/** The login prompt's reason when the session must sign in again from the start. */
export const reauthenticationReason = 'reauthentication_required';

type SessionAssessment = (ctx: KoaContextWithOIDC) => Promise<Assessment | undefined>;

/**
 * How the session's authentication compares with what this request needs; undefined without a
 * session or when its account is gone (other checks then ask for a full login). Once per request:
 * both checks below read it, and the library runs a prompt's checks together.
 */
function createSessionAssessment(catalog: Catalog): SessionAssessment {
  const assessments = new WeakMap<object, Promise<Assessment | undefined>>();
  async function assessNow(ctx: KoaContextWithOIDC): Promise<Assessment | undefined> {
    const { session, account, client } = ctx.oidc;
    if (!session?.accountId || !account) return undefined;
    const [clientRecord, user] = await Promise.all([catalog.findClient(client!.clientId), catalog.findUser(session.accountId)]);
    const requirement = requiredAuthentication({
      clientRequiresMfa: clientRecord?.metadata.require_mfa === true,
      userRequiresMfa: user?.mfaRequired,
      ...requestedByParameters(ctx.oidc.params as Record<string, unknown>),
    });
    return assessSession({ acr: session.acr, amr: session.amr, authTime: session.authTime() }, requirement);
  }
  return (ctx) => {
    let assessment = assessments.get(ctx);
    if (assessment === undefined) {
      assessment = assessNow(ctx);
      assessments.set(ctx, assessment);
    }
    return assessment;
  };
}

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
  const assess = createSessionAssessment(catalog);
  login.checks.add(
    new interactionPolicy.Check(
      stepUpReason,
      'the authentication of this session does not include the second factor this request requires',
      'login_required',
      async (ctx: KoaContextWithOIDC) => {
        const assessment = await assess(ctx);
        return assessment?.satisfied === false && assessment.shortfall === 'second_factor'
          ? interactionPolicy.Check.REQUEST_PROMPT
          : interactionPolicy.Check.NO_NEED_TO_PROMPT;
      },
      () => ({ required_acr: acr.mfa }),
    ),
  );
  login.checks.add(
    new interactionPolicy.Check(
      reauthenticationReason,
      'the authentication of this session is too old or of unknown age',
      'login_required',
      async (ctx: KoaContextWithOIDC) => {
        const assessment = await assess(ctx);
        if (assessment?.satisfied !== false || assessment.shortfall !== 'reauthenticate') return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        // A session with no login time: its age is unknown, so it meets no max_age and is not
        // stepped up either (a second factor alone must not make it look fresh).
        if (assessment.cause === 'unknown_time') return interactionPolicy.Check.REQUEST_PROMPT;
        // Older than max_age: the library's own max_age check asks for a full login, except
        // right after a login in this interaction (oidc-provider/lib/helpers/interaction_policy/prompts/login.js
        // `max_age`: `!ctx.oidc.result?.login`). A step-up's login keeps the time of the earlier
        // sign-in (`ts`, interactions/second-factor.ts): it is not a fresh one, and if that time
        // passed max_age while the user entered the code, the password is asked again.
        const login = (ctx.oidc.result as { login?: { ts?: number } } | undefined)?.login;
        return login?.ts !== undefined ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
      },
    ),
  );
  return policy;
}

/** The prompts and checks above, and where the library sends the browser for an interaction (interactions/routes.ts). */
export function interactionsConfiguration(catalog: Catalog) {
  return {
    policy: createInteractionPolicy(catalog),
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  } satisfies Configuration['interactions'];
}
