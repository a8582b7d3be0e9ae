// Client metadata of our own, beyond RFC 7591. `first_party: true` marks an application run by
// the same organisation as this server: its users are not asked for consent. `require_mfa: true`
// makes every user of the client sign in with a second factor (enrolling at the next login).
import { errors } from 'oidc-provider';

export const firstPartyMetadata = {
  properties: ['first_party', 'require_mfa'],
  validator(_ctx: unknown, key: string, value: unknown) {
    if (value !== undefined && typeof value !== 'boolean') {
      throw new errors.InvalidClientMetadata(`${key} must be a boolean`);
    }
  },
};
