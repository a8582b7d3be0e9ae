// What the consent page lists: readable lines for the scopes the client asks for.
import type { Catalog } from '../catalog/catalog.js';
import type { MissingConsent } from '../oidc/consent-memory.js';

const oidcScopeText: Record<string, string> = {
  openid: 'Know who you are (your user identifier)',
  profile: 'See your name and username',
  email: 'See your email address',
  offline_access: 'Stay connected when you are not using it',
};

export async function describeConsent(catalog: Catalog, missing: MissingConsent): Promise<string[]> {
  const items = (missing.missingOIDCScope ?? []).map((scope) => oidcScopeText[scope] ?? scope);
  for (const [identifier, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    const api = await catalog.findResource(identifier);
    const label = api?.name ?? identifier;
    for (const scope of scopes) items.push(`${label}: ${scope}`);
  }
  return items;
}
