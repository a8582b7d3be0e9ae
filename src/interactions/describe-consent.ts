// What the consent page says: readable lines for what the client asks for that the user has not
// allowed yet, and for what it asks for that the user already allowed. With `prompt=consent`
// (OIDC Core §3.1.2.1) the provider asks again even when everything requested is granted; then
// the first list is empty and the page asks the user to confirm the second one instead of showing
// "would like to:" over nothing.
import type { Catalog } from '../catalog/catalog.js';
import type { MissingConsent } from '../oidc/consent-memory.js';
import { oidcScopes, splitScope } from '../tokens/scopes.js';

const oidcScopeText: Record<string, string> = {
  openid: 'Know who you are (your user identifier)',
  profile: 'See your name and username',
  email: 'See your email address',
  offline_access: 'Stay connected when you are not using it',
};

export interface ConsentDescription {
  /** Not allowed yet: what approving adds. */
  asking: string[];
  /** Requested again and already allowed: what approving confirms. */
  confirming: string[];
}

/** The authorization request as the interaction stored it (after the provider's own checks). */
export interface ConsentRequest {
  scope?: unknown;
  resource?: unknown;
}

function resourcesOf(request: ConsentRequest): string[] {
  const { resource } = request;
  if (typeof resource === 'string') return [resource];
  return Array.isArray(resource) ? resource.filter((value): value is string => typeof value === 'string') : [];
}

export async function describeConsent(catalog: Catalog, missing: MissingConsent, request: ConsentRequest = {}): Promise<ConsentDescription> {
  const requestedScopes = splitScope(request.scope);
  const missingOidc = new Set(missing.missingOIDCScope ?? []);
  const asking = [...missingOidc].map((scope) => oidcScopeText[scope] ?? scope);
  const confirming = requestedScopes
    .filter((scope) => oidcScopes.has(scope) && !missingOidc.has(scope))
    .map((scope) => oidcScopeText[scope] ?? scope);
  // The claims parameter (OIDC Core §5.5) can ask for single claims beyond the scopes.
  for (const claim of missing.missingOIDCClaims ?? []) asking.push(`See your ${claim.replace(/_/g, ' ')}`);

  const missingResources = missing.missingResourceScopes ?? {};
  const identifiers = [...new Set([...Object.keys(missingResources), ...resourcesOf(request)])];
  for (const identifier of identifiers) {
    const api = await catalog.findResource(identifier);
    const label = api?.name ?? identifier;
    const missingHere = new Set(missingResources[identifier] ?? []);
    for (const scope of missingHere) asking.push(`${label}: ${scope}`);
    // Only scopes the API defines were granted for it (the provider's rs_scopes_missing check);
    // any other requested scope is not the API's and says nothing about it.
    for (const scope of requestedScopes) {
      if (!missingHere.has(scope) && api?.scopes.includes(scope)) confirming.push(`${label}: ${scope}`);
    }
  }
  return { asking, confirming };
}
