// Standard claims (OIDC Core §5.4) and how an account is found for a `sub`.
import type { FindAccount } from 'oidc-provider';
import type { Queryable } from '../../stores/database.js';
import { findUserBySub } from '../../stores/users.js';

export const scopes = ['openid', 'profile', 'email', 'offline_access'];

export const claims = {
  // acr and amr come from the login (second-factor.ts): how the user authenticated.
  openid: ['sub', 'acr', 'amr'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
};

export function createFindAccount(db: Queryable): FindAccount {
  return async (_ctx, sub) => {
    const user = await findUserBySub(db, sub);
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
