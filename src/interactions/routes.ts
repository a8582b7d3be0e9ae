// The login and consent pages oidc-provider sends the browser to (/interaction/:uid).
// GET renders the page the pending prompt needs; POSTs answer with 303 (never 307, which would
// re-post the password to the authorization endpoint) back into the provider.
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import type { Context, Next } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import type { Catalog } from '../catalog/catalog.js';
import { readFormBody } from '../http/form-body.js';
import { classifyError, HttpError, logClassified, renderErrorPage, storeUnavailable, type ClassifiedError } from '../http/errors.js';
import type { Views } from '../http/views.js';
import type { Logger } from '../log.js';
import { grantConsent } from '../oidc/consent-memory.js';
import type { Database } from '../stores/database.js';
import type Provider from 'oidc-provider';
import { servingProvider } from '../oidc/serving-provider.js';
import { authenticateUser } from './authenticate.js';
import type { Audit } from '../audit/audit.js';
import type { Throttles } from '../throttle/throttles.js';
import { reserveLoginAttempt, settleLoginSuccess, waitBeforeAttempt } from '../throttle/login-throttle.js';
import { createCsrf } from './csrf.js';
import { createSecondFactor, stepUpAccount } from './second-factor.js';
import { lockedFields, markLocked } from './wait-time.js';
import type { Totp } from '../mfa/totp.js';
import type { EphemeralStore } from '../stores/ephemeral/types.js';
import { describeConsent } from './describe-consent.js';

export interface InteractionDeps {
  db: Database;
  catalog: Catalog;
  views: Views;
  log: Logger;
  cookieKeys: readonly string[];
  throttles: Throttles;
  audit: Audit;
  store: EphemeralStore;
  totp: Totp;
}

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

const genericLoginError = 'Invalid username or password.';
const expiredLink = 'This sign-in link has expired or was already used. Go back to the application and try again.';

/** What a person reads when signing in fails: the classified problem, in words about signing in. */
function signInProblem(error: unknown, { kind, problem }: ClassifiedError): HttpError {
  if (kind === 'outage') return storeUnavailable('Signing in is temporarily unavailable. Please try again in a moment.');
  // The library's "no such interaction" (an expired or reused link, a missing cookie) by class.
  if (error instanceof oidcErrors.SessionNotFound || error instanceof oidcErrors.InvalidRequest) {
    return new HttpError(problem.status, problem.code, problem.description, problem.headers, expiredLink);
  }
  return problem;
}

function pageHeaders(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  ctx.type = 'html';
}

export function createInteractionRoutes(deps: InteractionDeps): Router {
  const { views } = deps;
  const csrf = createCsrf(deps.cookieKeys[0]!);
  const router = createRouter('/interaction');
  const secondFactor = createSecondFactor(deps, { csrf, headers: pageHeaders });

  // Interaction errors are pages, not JSON: they must not redirect back to a client that
  // may not be who it claims (unknown client, unregistered redirect URI, expired interaction).
  router.use(async function renderInteractionErrors(ctx: Context, next: Next) {
    try {
      await next();
    } catch (error) {
      const classified = classifyError(error);
      logClassified(deps.log, classified, error, { method: ctx.method, path: ctx.path });
      pageHeaders(ctx);
      renderErrorPage(ctx, views, signInProblem(error, classified));
    }
  });

  async function clientLabel(clientId: string): Promise<string> {
    const client = await deps.catalog.findClient(clientId);
    const name = client?.metadata.client_name;
    return typeof name === 'string' && name ? name : clientId;
  }

  async function renderLogin(
    ctx: Context,
    interaction: Interaction,
    options: { error?: string; username?: string; retryAfterSeconds?: number } = {},
  ) {
    pageHeaders(ctx);
    // A step-up for a user without a second factor yet: the same account signs in again (the
    // password comes before enrolment), so its username is filled in.
    const stepUpSub = stepUpAccount(interaction);
    const stepUpUser = stepUpSub ? await deps.catalog.findUser(stepUpSub) : undefined;
    ctx.body = views.render('login', {
      uid: interaction.uid,
      csrf: csrf.tokenFor(interaction.uid),
      client: await clientLabel(String(interaction.params.client_id)),
      username:
        options.username ??
        stepUpUser?.username ??
        (typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : ''),
      error: options.error,
      ...(options.retryAfterSeconds === undefined ? {} : lockedFields(options.retryAfterSeconds)),
      stepUp: stepUpUser !== undefined,
    });
  }

  function isFirstParty(metadata: Record<string, unknown> | undefined): boolean {
    return metadata?.first_party === true;
  }

  async function finishConsent(ctx: Context, interaction: Interaction): Promise<void> {
    const grantId = await grantConsent(
      { provider: servingProvider(ctx), db: deps.db },
      {
        accountId: String(interaction.session?.accountId),
        clientId: String(interaction.params.client_id),
        grantId: interaction.grantId,
        missing: interaction.prompt.details,
      },
    );
    await servingProvider(ctx).interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.respond = false;
  }

  function checkCsrf(interaction: Interaction, form: Record<string, string>): void {
    if (!csrf.isValid(interaction.uid, form.csrf)) {
      throw new HttpError(403, 'invalid_request', 'The form expired. Go back to the application and try again.');
    }
  }

  router.get('/:uid', async function showInteraction(ctx) {
    const interaction = await servingProvider(ctx).interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== ctx.params.uid) throw new oidcErrors.SessionNotFound('interaction mismatch');
    const { prompt } = interaction;
    if (prompt.name === 'login') {
      if (await secondFactor.showPending(ctx, interaction)) return;
      return renderLogin(ctx, interaction);
    }
    if (prompt.name === 'consent') {
      const client = await deps.catalog.findClient(String(interaction.params.client_id));
      // First-party apps (client metadata "first_party": true) are ours: no consent screen.
      if (isFirstParty(client?.metadata)) return finishConsent(ctx, interaction);
      pageHeaders(ctx);
      ctx.body = views.render('consent', {
        uid: interaction.uid,
        csrf: csrf.tokenFor(interaction.uid),
        client: await clientLabel(String(interaction.params.client_id)),
        ...(await describeConsent(deps.catalog, prompt.details, interaction.params)),
      });
      return;
    }
    throw new HttpError(400, 'invalid_request', `unsupported prompt ${prompt.name}`);
  });

  router.post('/:uid/login', async function submitLogin(ctx) {
    const interaction = await servingProvider(ctx).interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== ctx.params.uid || interaction.prompt.name !== 'login') {
      throw new oidcErrors.SessionNotFound('interaction mismatch');
    }
    const form = await readFormBody(ctx);
    checkCsrf(interaction, form);
    const username = (form.username ?? '').trim().slice(0, 256);
    const clientId = String(interaction.params.client_id);
    // The attempt's point is reserved before argon2 runs: of many parallel guesses only as many
    // as the counters have points reach the password check; the rest are refused here.
    const gate = await reserveLoginAttempt(deps.throttles, username, ctx.ip);
    if (!gate.allowed) {
      await deps.audit.record({ type: 'login_throttled', outcome: 'failure', clientId, details: { ip: ctx.ip } });
      markLocked(ctx, gate.retryAfterSeconds);
      return renderLogin(ctx, interaction, { username: username.slice(0, 128), retryAfterSeconds: gate.retryAfterSeconds });
    }
    await waitBeforeAttempt(gate);
    const result = await authenticateUser(deps, username, form.password ?? '');
    if (!result.ok) {
      // The username is recorded as typed: it may not exist, and that must not show anywhere.
      await deps.audit.record({ type: 'login_failed', outcome: 'failure', clientId, details: { username, ip: ctx.ip } });
      if (gate.lastAttempt) await deps.audit.record({ type: 'login_locked', outcome: 'failure', clientId, details: { username, ip: ctx.ip } });
      ctx.status = 200;
      return renderLogin(ctx, interaction, { error: genericLoginError, username: username.slice(0, 128) });
    }
    await settleLoginSuccess(deps.throttles, username, ctx.ip);
    await secondFactor.afterPassword(ctx, interaction, { sub: result.sub, username });
  });

  secondFactor.register(router);

  router.post('/:uid/consent', async function submitConsent(ctx) {
    const interaction = await servingProvider(ctx).interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== ctx.params.uid || interaction.prompt.name !== 'consent') {
      throw new oidcErrors.SessionNotFound('interaction mismatch');
    }
    const form = await readFormBody(ctx);
    checkCsrf(interaction, form);
    if (form.decision === 'allow') return finishConsent(ctx, interaction);
    // RFC 6749 §4.1.2.1: the resource owner denied the request.
    await servingProvider(ctx).interactionFinished(
      ctx.req,
      ctx.res,
      { error: 'access_denied', error_description: 'the user denied the request' },
      { mergeWithLastSubmission: false },
    );
    ctx.respond = false;
  });

  return router;
}
