// `npm run migrate`: create the Postgres database if it does not exist yet, apply pending
// migrations and exit (the one-shot step in docker-compose).
import { ConfigError, loadConfig } from './config/index.js';
import { createDatabaseIfMissing } from './stores/create-database.js';
import { openDatabase } from './stores/database.js';
import { migrate } from './stores/migrate.js';

try {
  const config = loadConfig();
  if (config.databaseUrl) {
    const created = await createDatabaseIfMissing(config.databaseUrl);
    if (created) process.stdout.write(`created database ${created}\n`);
  }
  const db = await openDatabase(config);
  try {
    const applied = await migrate(db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await db.close();
  }
} catch (error) {
  const message = error instanceof ConfigError ? `configuration error: ${error.message}` : (error as Error).message;
  process.stderr.write(`portcullis migrate: ${message}\n`);
  process.exit(1);
}
