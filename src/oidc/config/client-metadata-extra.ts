// Client metadata of our own, beyond RFC 7591. `first_party: true` marks an application run by
// the same organisation as this server: its users are not asked for consent.
import { errors } from 'oidc-provider';

export const firstPartyMetadata = {
  properties: ['first_party'],
  validator(_ctx: unknown, key: string, value: unknown) {
    if (key === 'first_party' && value !== undefined && typeof value !== 'boolean') {
      throw new errors.InvalidClientMetadata('first_party must be a boolean');
    }
  },
};
