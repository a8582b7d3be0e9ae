// Tells a store outage (Postgres or Redis unreachable, restarting, timing out) from a bug, so
// callers can answer 503 "try again" instead of 500, and never act on partial state.
const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  // Postgres SQLSTATE class 08 (connection exception) and 57P (operator intervention).
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  // query_canceled: statement_timeout (DATABASE_QUERY_TIMEOUT) ended a statement that waited
  // too long, on a lock or a server too busy to answer.
  '57014',
]);

const connectionMessages = [
  'Connection is closed',
  'Command timed out',
  "Stream isn't writeable",
  'Reached the max retries per request limit',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end',
  // Our own bound on a wait for Postgres (DatabaseTimeoutError in src/stores/database.ts).
  'Postgres did not answer within',
  // Redis Cluster (ioredis Cluster client)
  'CLUSTERDOWN',
  'None of startup nodes is available',
  'Too many Cluster redirections',
  'Failed to refresh slots cache',
];

export function isStoreUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth += 1) {
    const { code, message, name, cause } = current as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown };
    if (typeof code === 'string' && connectionCodes.has(code)) return true;
    if (name === 'MaxRetriesPerRequestError') return true;
    if (typeof message === 'string' && connectionMessages.some((text) => message.includes(text))) return true;
    current = cause;
  }
  return false;
}
