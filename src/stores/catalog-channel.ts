// The Postgres channel on which every change to clients, APIs (resources) and users is announced
// (LISTEN/NOTIFY), so that every instance drops its cached copy (src/catalog/catalog.ts).
import type { Queryable } from './database.js';

export const catalogChannel = 'portcullis_catalog';

export interface CatalogChange {
  type: 'client' | 'resource' | 'user';
  id: string;
}

export async function announceCatalogChange(db: Queryable, change: CatalogChange): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [catalogChannel, JSON.stringify(change)]);
}
