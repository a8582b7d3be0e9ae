// Issue 7, item 3 ("cost as work grows"): many clients and users in Portcullis' Postgres
// database, written with SQL in bulk (the admin API would spend hours on argon2 for a million
// users). Each seeded row is a copy of a fixture the admin API created, so it has exactly the
// shape Portcullis writes: clients copy bench-secret (same secret), users copy bench-user-0
// (same password hash). Direct inserts send no NOTIFY, which is fine for rows nobody has read.
import pg from 'pg';

export const seededClientId = (index: number) => `seed-client-${index}`;
export const seededUsername = (index: number) => `seed-user-${index}`;

/** Adds clients and users numbered after `from` (those already seeded) up to `counts`. */
export async function seedDatabase(
  databaseUrl: string,
  counts: { clients: number; users: number },
  templates: { clientId: string; username: string },
  from: { clients: number; users: number } = { clients: 0, users: 0 },
): Promise<{ clients: number; users: number; seconds: number }> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    let clients = 0;
    let users = 0;
    for (let start = from.clients + 1; start <= counts.clients; start += 50_000) {
      const end = Math.min(counts.clients, start + 49_999);
      const result = await client.query(
        `INSERT INTO clients (client_id, metadata, secret_digest)
         SELECT 'seed-client-' || g, jsonb_set(c.metadata, '{client_id}', to_jsonb('seed-client-' || g)), c.secret_digest
           FROM clients c, generate_series($2::int, $3::int) AS g
          WHERE c.client_id = $1`,
        [templates.clientId, start, end],
      );
      clients += result.rowCount ?? 0;
    }
    for (let start = from.users + 1; start <= counts.users; start += 100_000) {
      const end = Math.min(counts.users, start + 99_999);
      const result = await client.query(
        `INSERT INTO users (sub, username, password_hash)
         SELECT gen_random_uuid()::text, 'seed-user-' || g, u.password_hash
           FROM users u, generate_series($2::int, $3::int) AS g
          WHERE u.username = $1`,
        [templates.username, start, end],
      );
      users += result.rowCount ?? 0;
    }
    // Settle the tables now, so that autovacuum and the checkpoint after a bulk insert do not
    // run during the measured runs that follow.
    await client.query('VACUUM (ANALYZE) clients');
    await client.query('VACUUM (ANALYZE) users');
    await client.query('CHECKPOINT').catch(() => {});
    return { clients, users, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}
