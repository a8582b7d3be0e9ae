// SQL for the resources (APIs) table. An API's identifier is the `aud` of its tokens (RFC 8707).
import type { Queryable } from './database.js';
import { announceCatalogChange } from './catalog-channel.js';

export interface ResourceRecord {
  identifier: string;
  name: string | undefined;
  scopes: string[];
  accessTokenTtl: number;
  accessTokenFormat: 'jwt' | 'opaque';
  /** RFC 9449: tokens for this API are issued only DPoP-bound (against a proof). */
  dpopBoundAccessTokens: boolean;
  clientId: string | undefined;
  createdAt: Date;
  updatedAt: Date;
}

export type ResourceInput = Omit<ResourceRecord, 'createdAt' | 'updatedAt'>;

interface ResourceRow {
  identifier: string;
  name: string | null;
  scopes: string[];
  access_token_ttl: number;
  access_token_format: 'jwt' | 'opaque';
  dpop_bound_access_tokens: boolean;
  client_id: string | null;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: ResourceRow): ResourceRecord {
  return {
    identifier: row.identifier,
    name: row.name ?? undefined,
    scopes: row.scopes,
    accessTokenTtl: row.access_token_ttl,
    accessTokenFormat: row.access_token_format,
    dpopBoundAccessTokens: row.dpop_bound_access_tokens,
    clientId: row.client_id ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

async function notifyResourceChanged(db: Queryable, identifier: string): Promise<void> {
  await announceCatalogChange(db, { type: 'resource', id: identifier });
}

export async function findResource(db: Queryable, identifier: string): Promise<ResourceRecord | undefined> {
  const rows = await db.query<ResourceRow>('SELECT * FROM resources WHERE identifier = $1', [identifier]);
  return rows[0] && toRecord(rows[0]);
}

export async function listResources(db: Queryable, options: { limit: number; after?: string | undefined }): Promise<ResourceRecord[]> {
  const rows = await db.query<ResourceRow>(
    'SELECT * FROM resources WHERE identifier > $1 ORDER BY identifier LIMIT $2',
    [options.after ?? '', options.limit],
  );
  return rows.map(toRecord);
}

export async function listAllResources(db: Queryable): Promise<ResourceRecord[]> {
  return (await db.query<ResourceRow>('SELECT * FROM resources ORDER BY identifier')).map(toRecord);
}

const columns = '(identifier, name, scopes, access_token_ttl, access_token_format, client_id, dpop_bound_access_tokens)';

function values(resource: ResourceInput): unknown[] {
  return [
    resource.identifier,
    resource.name ?? null,
    resource.scopes,
    resource.accessTokenTtl,
    resource.accessTokenFormat,
    resource.clientId ?? null,
    resource.dpopBoundAccessTokens,
  ];
}

/** Inserts an API; undefined if the identifier is taken. */
export async function insertResource(db: Queryable, resource: ResourceInput): Promise<ResourceRecord | undefined> {
  const rows = await db.query<ResourceRow>(
    `INSERT INTO resources ${columns} VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (identifier) DO NOTHING RETURNING *`,
    values(resource),
  );
  if (rows[0]) await notifyResourceChanged(db, resource.identifier);
  return rows[0] && toRecord(rows[0]);
}

export async function updateResource(db: Queryable, resource: ResourceInput): Promise<ResourceRecord | undefined> {
  const rows = await db.query<ResourceRow>(
    `UPDATE resources SET name = $2, scopes = $3, access_token_ttl = $4, access_token_format = $5,
       client_id = $6, dpop_bound_access_tokens = $7, updated_at = now()
     WHERE identifier = $1 RETURNING *`,
    values(resource),
  );
  if (rows[0]) await notifyResourceChanged(db, resource.identifier);
  return rows[0] && toRecord(rows[0]);
}

export async function deleteResource(db: Queryable, identifier: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM resources WHERE identifier = $1 RETURNING identifier', [identifier]);
  if (rows.length) await notifyResourceChanged(db, identifier);
  return rows.length === 1;
}
