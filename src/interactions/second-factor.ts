// The second step of a login: a TOTP code (RFC 6238) or a recovery code, for users who enrolled,
// and enrolment for users whose sign-in needs a second factor (authentication-requirements.ts:
// the user's `mfa_required`, the client's `require_mfa`, the request's `acr_values`) but have
// none yet. Between the steps the interaction holds a short-lived "password verified" record;
// nothing is granted until the second step passes.
//
// Step-up: a session that signed in with a password alone, meeting a request that needs more,
// is sent here by the interaction policy (reason `second_factor_required`). The page then asks
// only for the code of the session's account, and the session keeps the time of its sign-in
// (auth_time) with the second factor added. A session whose user has no second factor yet signs
// in again with the password before enrolling: a session cookie alone must not be enough to bind
// a new authenticator to the account (NIST SP 800-63B §6.1.2.1 wants the existing factor first).
//
// Every code reserves a point before it is checked (second-factor-throttle.ts); after a few wrong
// codes the interaction ends (NIST SP 800-63B §5.2.2) and the user starts over.
import type { Context } from 'koa';
import type Router from '@koa/router';
import { errors as oidcErrors } from 'oidc-provider';
import type Provider from 'oidc-provider';
import type { Audit } from '../audit/audit.js';
import type { Catalog } from '../catalog/catalog.js';
import { HttpError, renderErrorPage } from '../http/errors.js';
import { readFormBody } from '../http/form-body.js';
import type { Views } from '../http/views.js';
import type { Totp } from '../mfa/totp.js';
import { acrFor, requestedByParameters, requiredAuthentication } from '../oidc/authentication-requirements.js';
import { stepUpReason } from '../oidc/config/interaction-policy.js';
import { servingProvider } from '../oidc/serving-provider.js';
import type { Database } from '../stores/database.js';
import type { EphemeralStore } from '../stores/ephemeral/types.js';
import { findMfaState } from '../stores/mfa.js';
import { reserveSecondFactorAttempt, secondFactorLockedFor, settleSecondFactorSuccess } from '../throttle/second-factor-throttle.js';
import { waitBeforeAttempt } from '../throttle/login-throttle.js';
import type { Throttles } from '../throttle/throttles.js';
import type { Csrf } from './csrf.js';
import { lockedFields, markLocked } from './wait-time.js';

const pendingModel = 'PasswordVerified';
/** Seconds to finish the second step. */
const pendingLifetime = 5 * 60;

const invalidCode = 'Invalid code.';

interface Pending {
  sub: string;
  username: string;
  enrolling: boolean;
  /** While enrolling: the secret and recovery codes shown, sealed (mfa/totp.ts). */
  enrolment?: string;
  /** Derived from the session (step-up), not stored. */
  stepUp?: boolean;
  [key: string]: unknown;
}

export interface SecondFactorDeps {
  db: Database;
  store: EphemeralStore;
  catalog: Catalog;
  views: Views;
  totp: Totp;
  throttles: Throttles;
  audit: Audit;
}

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * Reasons that a second factor on top of the session's sign-in answers, once our own check says
 * a second factor is what is missing: the library's checks of an essential `acr` in the claims
 * parameter (oidc-provider/lib/helpers/interaction_policy/prompts/login.js `essential_acr`, `essential_acrs`)
 * ask for the class that our requirement asks for too (authentication-requirements.ts reads the
 * same claims). Alone, without ours, they ask for something a second factor does not give (a
 * class we do not issue): that is not a step-up. (The claims parameter is off today, so the
 * library never raises them; this keeps step-up right if it is turned on.)
 */
const answeredBySecondFactor = new Set([stepUpReason, 'essential_acr', 'essential_acrs']);

/** The session's account when the only thing this login prompt lacks is a second factor. */
export function stepUpAccount(interaction: Interaction): string | undefined {
  const { prompt, session } = interaction;
  if (prompt.name !== 'login' || !session?.accountId) return undefined;
  const { reasons } = prompt;
  return reasons.includes(stepUpReason) && reasons.every((reason) => answeredBySecondFactor.has(reason)) ? session.accountId : undefined;
}

export function createSecondFactor(deps: SecondFactorDeps, page: { csrf: Csrf; headers(ctx: Context): void }) {
  /**
   * Ends the login step. `ts` is the login time to record (auth_time); without it the library
   * records now (oidc-provider/lib/models/session.js `loginAccount`).
   */
  async function finish(ctx: Context, sub: string, amr: string[], ts?: number): Promise<void> {
    const login = { accountId: sub, amr, acr: acrFor(amr.length > 1 ? 'mfa' : 'password'), ...(ts === undefined ? {} : { ts }) };
    await servingProvider(ctx).interactionFinished(ctx.req, ctx.res, { login }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  }

  /**
   * A step-up adds a factor to the session's earlier sign-in; it is not a new sign-in. auth_time
   * is "the time when the End-User authentication occurred" (OIDC Core §2), and max_age measures
   * from it how long ago the user proved who they are (§3.1.2.1): the password was typed then, so
   * the session keeps that time. Otherwise a code alone would make an hours-old password look
   * fresh to every later max_age. No session, another account or no login time: refused, the
   * user signs in again from the application.
   */
  async function earlierLoginTime(ctx: Context, interaction: Interaction, sub: string): Promise<number> {
    // By uid, the session's stable identifier: its cookie id (jti) is renewed at every resume
    // (oidc-provider/lib/actions/authorization/resume.js `resetIdentifier`).
    const uid = interaction.session?.uid;
    const session = uid === undefined ? undefined : await servingProvider(ctx).Session.findByUid(uid);
    if (session?.accountId !== sub || typeof session.loginTs !== 'number') {
      throw new oidcErrors.SessionNotFound('the session this step-up was for has ended');
    }
    return session.loginTs;
  }

  /** The page for the pending step: the code challenge, or the enrolment (same secret each time). */
  async function render(ctx: Context, uid: string, pending: Pending, problem: { error?: string; retryAfterSeconds?: number } = {}): Promise<void> {
    page.headers(ctx);
    const locked = problem.retryAfterSeconds === undefined ? {} : lockedFields(problem.retryAfterSeconds);
    const common = { uid, csrf: page.csrf.tokenFor(uid), error: problem.error, ...locked };
    if (pending.enrolling && pending.enrolment) {
      const enrolment = await deps.totp.reopenEnrolment(pending.enrolment, pending.username);
      ctx.body = deps.views.render('mfa-enrol', { ...common, qrSvg: enrolment.qrSvg, secret: enrolment.secret, recoveryCodes: enrolment.recoveryCodes });
      return;
    }
    ctx.body = deps.views.render('mfa', { ...common, account: pending.stepUp ? pending.username : undefined });
  }

  /** A locked second factor is said before the user types a code that could not count. */
  async function renderChallenge(ctx: Context, uid: string, pending: Pending): Promise<void> {
    const lockedFor = await secondFactorLockedFor(deps.throttles, pending.sub);
    if (lockedFor !== undefined) markLocked(ctx, lockedFor);
    return render(ctx, uid, pending, { retryAfterSeconds: lockedFor });
  }

  async function stepUpPending(interaction: Interaction): Promise<Pending | undefined> {
    const sub = stepUpAccount(interaction);
    if (!sub) return undefined;
    const [state, user] = await Promise.all([findMfaState(deps.db, sub), deps.catalog.findUser(sub)]);
    if (!state?.totpConfirmed || !user || user.disabled) return undefined;
    return { sub, username: user.username, enrolling: false, stepUp: true };
  }

  async function findPending(interaction: Interaction): Promise<Pending | undefined> {
    const stored = (await deps.store.find(pendingModel, interaction.uid)) as Pending | undefined;
    return stored ?? stepUpPending(interaction);
  }

  /** Too many wrong codes: the password-verified record and the interaction itself are gone. */
  async function endInteraction(ctx: Context, interaction: Interaction): Promise<void> {
    await deps.store.destroy(pendingModel, interaction.uid);
    await interaction.destroy();
    page.headers(ctx);
    renderErrorPage(ctx, deps.views, new HttpError(403, 'access_denied', 'Too many wrong codes. Go back to the application and sign in again.'));
  }

  return {
    /** After a correct password: finish the login, or ask for (or enrol) a second factor. */
    async afterPassword(ctx: Context, interaction: Interaction, user: { sub: string; username: string }): Promise<void> {
      const [state, client] = await Promise.all([
        findMfaState(deps.db, user.sub),
        deps.catalog.findClient(String(interaction.params.client_id)),
      ]);
      const requirement = requiredAuthentication({
        clientRequiresMfa: client?.metadata.require_mfa === true,
        userRequiresMfa: state?.mfaRequired === true,
        // The password was just entered: max_age is met by this sign-in.
        ...requestedByParameters(interaction.params),
        maxAge: undefined,
      });
      const clientId = String(interaction.params.client_id);
      const secondStep = state?.totpConfirmed === true || requirement.level === 'mfa';
      await deps.audit.record({
        type: secondStep ? 'password_verified' : 'login_succeeded',
        outcome: 'success',
        clientId,
        sub: user.sub,
        details: { ip: ctx.ip, ...(requirement.sources.length ? { second_factor_required_by: requirement.sources } : {}) },
      });
      if (state?.totpConfirmed) {
        const pending: Pending = { ...user, enrolling: false };
        await deps.store.upsert(pendingModel, interaction.uid, pending, pendingLifetime);
        return renderChallenge(ctx, interaction.uid, pending);
      }
      if (requirement.level === 'password') return finish(ctx, user.sub, ['pwd']);
      // The same sign-in asked again (a second password post): keep what the user may have scanned.
      const earlier = (await deps.store.find(pendingModel, interaction.uid)) as Pending | undefined;
      const enrolment =
        earlier?.enrolling && earlier.sub === user.sub && earlier.enrolment ? earlier.enrolment : (await deps.totp.startEnrolment(user.sub, user.username)).sealed;
      const pending: Pending = { ...user, enrolling: true, enrolment };
      await deps.store.upsert(pendingModel, interaction.uid, pending, pendingLifetime);
      return render(ctx, interaction.uid, pending);
    },

    /**
     * GET of the interaction during a login prompt: the pending second step if there is one
     * (a reload keeps the same page), or the step-up challenge. False: show the password form.
     */
    async showPending(ctx: Context, interaction: Interaction): Promise<boolean> {
      const pending = await findPending(interaction);
      if (!pending) return false;
      await (pending.enrolling ? render(ctx, interaction.uid, pending) : renderChallenge(ctx, interaction.uid, pending));
      return true;
    },

    register(router: Router): void {
      router.post('/:uid/mfa', async function submitSecondFactor(ctx) {
        const interaction = await servingProvider(ctx).interactionDetails(ctx.req, ctx.res);
        if (interaction.uid !== ctx.params.uid || interaction.prompt.name !== 'login') {
          throw new oidcErrors.SessionNotFound('interaction mismatch');
        }
        const form = await readFormBody(ctx);
        if (!page.csrf.isValid(interaction.uid, form.csrf)) throw new oidcErrors.SessionNotFound('the form expired');
        const pending = await findPending(interaction);
        if (!pending) throw new oidcErrors.SessionNotFound('the sign-in took too long; start again');
        const clientId = String(interaction.params.client_id);
        const attempt = { sub: pending.sub, ip: ctx.ip, interaction: interaction.uid };
        const audit = (type: string, details: Record<string, unknown> = {}) =>
          deps.audit.record({ type, outcome: 'failure', clientId, sub: pending.sub, details: { step: 'second factor', ip: ctx.ip, ...details } });

        // The point is taken before the code is checked, so parallel guesses cannot share one.
        const gate = await reserveSecondFactorAttempt(deps.throttles, attempt);
        if (!gate.allowed) {
          if (!gate.locked) {
            await audit('mfa_interaction_ended');
            return endInteraction(ctx, interaction);
          }
          await audit('login_throttled');
          markLocked(ctx, gate.retryAfterSeconds);
          return render(ctx, interaction.uid, pending, { retryAfterSeconds: gate.retryAfterSeconds });
        }
        await waitBeforeAttempt(gate);

        const code = (form.code ?? '').replace(/\s/g, '');
        const recovery = (form.recovery_code ?? '').trim();
        let amr: string[] | undefined;
        if (code && (await deps.totp.verifyCode(pending.sub, code))) amr = ['pwd', 'otp'];
        else if (!pending.enrolling && recovery && (await deps.totp.useRecoveryCode(pending.sub, recovery))) amr = ['pwd', 'mfa'];

        if (!amr) {
          await audit('login_failed');
          if (gate.lastForUser) await audit('login_locked');
          if (gate.lastInInteraction) {
            await audit('mfa_interaction_ended');
            return endInteraction(ctx, interaction);
          }
          ctx.status = 200;
          // An enrolment keeps its page (QR code, key, recovery codes), with the error.
          return render(ctx, interaction.uid, pending, { error: invalidCode });
        }
        const loginTime = pending.stepUp ? await earlierLoginTime(ctx, interaction, pending.sub) : undefined;
        await deps.store.destroy(pendingModel, interaction.uid);
        await settleSecondFactorSuccess(deps.throttles, attempt);
        const success = { outcome: 'success' as const, clientId, sub: pending.sub, details: { ip: ctx.ip, amr, ...(pending.stepUp ? { step_up: true } : {}) } };
        if (pending.enrolling) await deps.audit.record({ type: 'mfa_enrolled', ...success });
        await deps.audit.record({ type: 'login_succeeded', ...success });
        await finish(ctx, pending.sub, amr, loginTime);
      });
    },
  };
}
