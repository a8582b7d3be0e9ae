// SQL for remembered consents: what a user allowed a client, merged over time.
import type { Queryable } from './database.js';

export interface Consent {
  oidcScopes: string[];
  oidcClaims: string[];
  resourceScopes: Record<string, string[]>;
}

interface ConsentRow {
  oidc_scopes: string[];
  oidc_claims: string[];
  resource_scopes: Record<string, string[]>;
}

export async function findConsent(db: Queryable, sub: string, clientId: string): Promise<Consent | undefined> {
  const rows = await db.query<ConsentRow>(
    'SELECT oidc_scopes, oidc_claims, resource_scopes FROM consents WHERE sub = $1 AND client_id = $2',
    [sub, clientId],
  );
  const row = rows[0];
  return row && { oidcScopes: row.oidc_scopes, oidcClaims: row.oidc_claims, resourceScopes: row.resource_scopes };
}

/** Stores the consent as given (callers merge with what was there). */
export async function saveConsent(db: Queryable, sub: string, clientId: string, consent: Consent): Promise<void> {
  await db.query(
    `INSERT INTO consents (sub, client_id, oidc_scopes, oidc_claims, resource_scopes) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (sub, client_id) DO UPDATE SET oidc_scopes = $3, oidc_claims = $4, resource_scopes = $5, updated_at = now()`,
    [sub, clientId, consent.oidcScopes, consent.oidcClaims, JSON.stringify(consent.resourceScopes)],
  );
}
