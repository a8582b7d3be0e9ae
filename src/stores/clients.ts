// SQL for the clients table. Metadata is RFC 7591 client metadata without the secret; the
// secret exists only as its SHA-256 digest.
import type { Queryable } from './database.js';
import { announceCatalogChange } from './catalog-channel.js';

export type ClientMetadata = Record<string, unknown> & { client_id: string };

export interface ClientRecord {
  clientId: string;
  metadata: ClientMetadata;
  secretDigest: string | undefined;
  createdAt: Date;
  updatedAt: Date;
}

interface ClientRow {
  client_id: string;
  metadata: ClientMetadata;
  secret_digest: string | null;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: ClientRow): ClientRecord {
  return {
    clientId: row.client_id,
    metadata: row.metadata,
    secretDigest: row.secret_digest ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

async function notifyClientChanged(db: Queryable, clientId: string): Promise<void> {
  await announceCatalogChange(db, { type: 'client', id: clientId });
}

export async function findClientById(db: Queryable, clientId: string): Promise<ClientRecord | undefined> {
  const rows = await db.query<ClientRow>('SELECT * FROM clients WHERE client_id = $1', [clientId]);
  return rows[0] && toRecord(rows[0]);
}

export async function listClients(db: Queryable, options: { limit: number; after?: string | undefined }): Promise<ClientRecord[]> {
  const rows = await db.query<ClientRow>(
    'SELECT * FROM clients WHERE client_id > $1 ORDER BY client_id LIMIT $2',
    [options.after ?? '', options.limit],
  );
  return rows.map(toRecord);
}

/** Inserts a client; false if the client_id is taken. */
export async function insertClient(
  db: Queryable,
  client: { clientId: string; metadata: ClientMetadata; secretDigest: string | undefined },
): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO clients (client_id, metadata, secret_digest) VALUES ($1, $2, $3)
     ON CONFLICT (client_id) DO NOTHING RETURNING client_id`,
    [client.clientId, JSON.stringify(client.metadata), client.secretDigest ?? null],
  );
  if (rows.length) await notifyClientChanged(db, client.clientId);
  return rows.length === 1;
}

/** Replaces metadata and, when given, the secret digest (null removes it). False if unknown. */
export async function updateClient(
  db: Queryable,
  client: { clientId: string; metadata: ClientMetadata; secretDigest?: string | null },
): Promise<boolean> {
  const rows = client.secretDigest === undefined
    ? await db.query(
        'UPDATE clients SET metadata = $2, updated_at = now() WHERE client_id = $1 RETURNING client_id',
        [client.clientId, JSON.stringify(client.metadata)],
      )
    : await db.query(
        'UPDATE clients SET metadata = $2, secret_digest = $3, updated_at = now() WHERE client_id = $1 RETURNING client_id',
        [client.clientId, JSON.stringify(client.metadata), client.secretDigest],
      );
  if (rows.length) await notifyClientChanged(db, client.clientId);
  return rows.length === 1;
}

export async function deleteClient(db: Queryable, clientId: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM clients WHERE client_id = $1 RETURNING client_id', [clientId]);
  if (rows.length) await notifyClientChanged(db, clientId);
  return rows.length === 1;
}

export async function clientWithScopeExists(db: Queryable, scope: string): Promise<boolean> {
  const rows = await db.query(
    `SELECT 1 FROM clients WHERE $1 = ANY (string_to_array(coalesce(metadata->>'scope', ''), ' ')) LIMIT 1`,
    [scope],
  );
  return rows.length > 0;
}
