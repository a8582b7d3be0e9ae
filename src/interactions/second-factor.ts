// The second step of a login: a TOTP code (RFC 6238) or a recovery code, for users who enrolled,
// and enrolment for users who must have a second factor (the user's `mfa_required`, or the
// client's `require_mfa` metadata) but have none yet. Between the steps the interaction holds a
// short-lived "password verified" record; nothing is granted until the second step passes.
import type { Context } from 'koa';
import type Router from '@koa/router';
import { errors as oidcErrors } from 'oidc-provider';
import type { Audit } from '../audit/audit.js';
import type { Catalog } from '../catalog/catalog.js';
import { readFormBody } from '../http/form-body.js';
import type { Views } from '../http/views.js';
import type { Totp } from '../mfa/totp.js';
import type Provider from 'oidc-provider';
import { servingProvider } from '../oidc/serving-provider.js';
import type { Database } from '../stores/database.js';
import type { EphemeralStore } from '../stores/ephemeral/types.js';
import { findMfaState } from '../stores/mfa.js';
import { recordLoginFailure, recordLoginSuccess } from '../throttle/login-throttle.js';
import type { Throttles } from '../throttle/throttles.js';
import type { Csrf } from './csrf.js';

const pendingModel = 'PasswordVerified';
/** Seconds to finish the second step. */
const pendingLifetime = 5 * 60;

export const acr = { password: 'urn:portcullis:acr:pwd', mfa: 'urn:portcullis:acr:mfa' } as const;

interface Pending {
  sub: string;
  username: string;
  enrolling: boolean;
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

export function createSecondFactor(deps: SecondFactorDeps, page: { csrf: Csrf; headers(ctx: Context): void }) {
  async function finish(ctx: Context, sub: string, amr: string[], acrValue: string): Promise<void> {
    await servingProvider(ctx).interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId: sub, amr, acr: acrValue } },
      { mergeWithLastSubmission: false },
    );
    ctx.respond = false;
  }

  function renderChallenge(ctx: Context, uid: string, error?: string): void {
    page.headers(ctx);
    ctx.body = deps.views.render('mfa', { uid, csrf: page.csrf.tokenFor(uid), error });
  }

  return {
    /** After a correct password: finish the login, or ask for (or enrol) a second factor. */
    async afterPassword(ctx: Context, interaction: Interaction, user: { sub: string; username: string }): Promise<void> {
      const state = await findMfaState(deps.db, user.sub);
      const client = await deps.catalog.findClient(String(interaction.params.client_id));
      const required = state?.mfaRequired === true || client?.metadata.require_mfa === true;
      if (state?.totpConfirmed) {
        await deps.store.upsert(pendingModel, interaction.uid, { ...user, enrolling: false }, pendingLifetime);
        return renderChallenge(ctx, interaction.uid);
      }
      if (!required) return finish(ctx, user.sub, ['pwd'], acr.password);
      const enrolment = await deps.totp.startEnrolment(user.sub, user.username);
      await deps.store.upsert(pendingModel, interaction.uid, { ...user, enrolling: true }, pendingLifetime);
      page.headers(ctx);
      ctx.body = deps.views.render('mfa-enrol', {
        uid: interaction.uid,
        csrf: page.csrf.tokenFor(interaction.uid),
        qrSvg: enrolment.qrSvg,
        secret: enrolment.secret,
        recoveryCodes: enrolment.recoveryCodes,
      });
    },

    register(router: Router): void {
      router.post('/:uid/mfa', async function submitSecondFactor(ctx) {
        const interaction = await servingProvider(ctx).interactionDetails(ctx.req, ctx.res);
        if (interaction.uid !== ctx.params.uid || interaction.prompt.name !== 'login') {
          throw new oidcErrors.SessionNotFound('interaction mismatch');
        }
        const form = await readFormBody(ctx);
        if (!page.csrf.isValid(interaction.uid, form.csrf)) throw new oidcErrors.SessionNotFound('the form expired');
        const pending = (await deps.store.find(pendingModel, interaction.uid)) as Pending | undefined;
        if (!pending) throw new oidcErrors.SessionNotFound('the sign-in took too long; start again');
        const clientId = String(interaction.params.client_id);

        const code = (form.code ?? '').replace(/\s/g, '');
        const recovery = (form.recovery_code ?? '').trim();
        let amr: string[] | undefined;
        if (code && (await deps.totp.verifyCode(pending.sub, code))) amr = ['pwd', 'otp'];
        else if (!pending.enrolling && recovery && (await deps.totp.useRecoveryCode(pending.sub, recovery))) amr = ['pwd', 'mfa'];

        if (!amr) {
          await recordLoginFailure(deps.throttles, pending.username, ctx.ip);
          await deps.audit.record({ type: 'login_failed', outcome: 'failure', clientId, sub: pending.sub, details: { step: 'second factor', ip: ctx.ip } });
          ctx.status = 200;
          return renderChallenge(ctx, interaction.uid, 'Invalid code.');
        }
        await deps.store.destroy(pendingModel, interaction.uid);
        await recordLoginSuccess(deps.throttles, pending.username, ctx.ip);
        await deps.audit.record({
          type: pending.enrolling ? 'mfa_enrolled' : 'login_succeeded',
          outcome: 'success',
          clientId,
          sub: pending.sub,
          details: { ip: ctx.ip, amr },
        });
        if (pending.enrolling) await deps.audit.record({ type: 'login_succeeded', outcome: 'success', clientId, sub: pending.sub, details: { ip: ctx.ip, amr } });
        await finish(ctx, pending.sub, amr, acr.mfa);
      });
    },
  };
}
