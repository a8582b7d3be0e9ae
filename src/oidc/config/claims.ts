// Standard claims (OIDC Core §5.4) and how an account is found for a `sub`.
import type { FindAccount } from 'oidc-provider';
import type { Catalog } from '../../catalog/catalog.js';

export const scopes = ['openid', 'profile', 'email', 'offline_access'];

export const claims = {
  // acr and amr come from the login (second-factor.ts): how the user authenticated.
  openid: ['sub', 'acr', 'amr'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
};

// The library asks for the account several times in a login and on every refresh; the profile
// comes from the catalog's cache, which every instance drops when an admin changes the user.
// A disabled user's tokens and sessions are also stopped by revocation (admin/users.ts).
export function createFindAccount(catalog: Catalog): FindAccount {
  return async (_ctx, sub) => {
    const user = await catalog.findUser(sub);
    if (!user || user.disabled) return undefined;
    return {
      accountId: user.sub,
      async claims() {
        return {
          sub: user.sub,
          preferred_username: user.username,
          name: user.name,
          given_name: user.givenName,
          family_name: user.familyName,
          email: user.email,
          email_verified: user.email ? user.emailVerified : undefined,
          updated_at: Math.floor(user.updatedAt.getTime() / 1000),
        };
      },
    };
  };
}
