// `npm run migrate` on a Postgres server where the database in DATABASE_URL does not exist yet:
// create it (as the same user, through the server's `postgres` maintenance database), so that
// the first step of a new deployment is one command rather than a psql session first.
import pg from 'pg';

// SQLSTATE codes (PostgreSQL Appendix A).
const invalidCatalogName = '3D000'; // the database does not exist
const duplicateDatabase = '42P04'; // someone else created it first

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}

/** The database a connection string names (its path), or undefined when it names none. */
export function databaseName(connectionString: string): string | undefined {
  const name = decodeURIComponent(new URL(connectionString).pathname.replace(/^\//, ''));
  return name === '' ? undefined : name;
}

/** The same server, user and options, connected to another database. */
function onDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.href;
}

async function canConnect(connectionString: string): Promise<boolean> {
  const client = new pg.Client({ connectionString });
  try {
    await client.connect();
    return true;
  } catch (error) {
    if (errorCode(error) === invalidCatalogName) return false;
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Creates the database named in `connectionString` unless it exists. Returns its name when it
 * created it, undefined when there was nothing to do. Any other failure (no such server, wrong
 * password, no CREATEDB privilege) is thrown as it is: the caller reports it.
 */
export async function createDatabaseIfMissing(connectionString: string): Promise<string | undefined> {
  const name = databaseName(connectionString);
  // No database in the URL means the user's own, which Postgres does not create on demand
  // either; the connection error that follows says so.
  if (name === undefined || name === 'postgres') return undefined;
  if (await canConnect(connectionString)) return undefined;
  const admin = new pg.Client({ connectionString: onDatabase(connectionString, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    return name;
  } catch (error) {
    if (errorCode(error) === duplicateDatabase) return undefined;
    throw error;
  } finally {
    await admin.end().catch(() => {});
  }
}
