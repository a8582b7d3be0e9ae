// Consent remembered per user and client. oidc-provider keeps the grant of a browser session;
// we also keep what the user allowed in Postgres, so a new session (another browser, after
// logout) starts from the earlier consent instead of asking again for the same scopes.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Queryable } from '../stores/database.js';
import { findConsent, saveConsent, type Consent } from '../stores/consents.js';

type GrantInstance = InstanceType<Provider['Grant']>;

export interface MissingConsent {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

function union(a: readonly string[], b: readonly string[] = []): string[] {
  return [...new Set([...a, ...b])];
}

function applyConsent(grant: GrantInstance, consent: MissingConsent): void {
  if (consent.missingOIDCScope?.length) grant.addOIDCScope(consent.missingOIDCScope.join(' '));
  if (consent.missingOIDCClaims?.length) grant.addOIDCClaims(consent.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(consent.missingResourceScopes ?? {})) {
    if (scopes.length) grant.addResourceScope(resource, scopes.join(' '));
  }
}

/** features → loadExistingGrant: the session's grant, else one rebuilt from remembered consent. */
export function createLoadExistingGrant(db: Queryable) {
  return async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<GrantInstance | undefined> {
    const { client, session, provider, result } = ctx.oidc;
    if (!client || !session) return undefined;
    const grantId = (result as { consent?: { grantId?: string } } | undefined)?.consent?.grantId ?? session.grantIdFor(client.clientId);
    if (grantId) {
      const grant = await provider.Grant.find(grantId);
      if (grant) return grant;
    }
    if (!session.accountId) return undefined;
    const remembered = await findConsent(db, session.accountId, client.clientId);
    if (!remembered) return undefined;
    const grant = new provider.Grant({ accountId: session.accountId, clientId: client.clientId });
    applyConsent(grant, {
      missingOIDCScope: remembered.oidcScopes,
      missingOIDCClaims: remembered.oidcClaims,
      missingResourceScopes: remembered.resourceScopes,
    });
    await grant.save();
    return grant;
  };
}

/** Adds what the prompt asked for to the grant (creating it), saves it, and remembers it. */
export async function grantConsent(
  deps: { provider: Provider; db: Queryable },
  request: { accountId: string; clientId: string; grantId: string | undefined; missing: MissingConsent },
): Promise<string> {
  const { provider } = deps;
  const existing = request.grantId ? await provider.Grant.find(request.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId: request.accountId, clientId: request.clientId });
  applyConsent(grant, request.missing);
  const grantId = await grant.save();

  const before: Consent = (await findConsent(deps.db, request.accountId, request.clientId)) ?? {
    oidcScopes: [],
    oidcClaims: [],
    resourceScopes: {},
  };
  const resourceScopes = { ...before.resourceScopes };
  for (const [resource, scopes] of Object.entries(request.missing.missingResourceScopes ?? {})) {
    resourceScopes[resource] = union(resourceScopes[resource] ?? [], scopes);
  }
  await saveConsent(deps.db, request.accountId, request.clientId, {
    oidcScopes: union(before.oidcScopes, request.missing.missingOIDCScope),
    oidcClaims: union(before.oidcClaims, request.missing.missingOIDCClaims),
    resourceScopes,
  });
  return grantId;
}
