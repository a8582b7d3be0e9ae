// RP-initiated logout pages (OpenID Connect RP-Initiated Logout 1.0 §2, §3), rendered from
// views/ like every other page: the confirmation form and the "signed out" page.
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { Views } from '../../http/views.js';

type LogoutPages = Pick<NonNullable<NonNullable<Configuration['features']>['rpInitiatedLogout']>, 'logoutSource' | 'postLogoutSuccessSource'>;

export function logoutPages(views: Views): Required<LogoutPages> {
  return {
    logoutSource(ctx: KoaContextWithOIDC, form: string) {
      const client = ctx.oidc.client;
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      // `form` is the provider's own markup (a form with its hidden xsrf field), not user input.
      ctx.body = views.render('logout', { form, client: client?.clientName ?? client?.clientId });
    },
    postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = views.render('logged-out', {});
    },
  };
}
