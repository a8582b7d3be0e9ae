// The first admin client. With BOOTSTRAP_ADMIN_CLIENT_ID set, that client is created if missing
// (its secret from BOOTSTRAP_ADMIN_CLIENT_SECRET, or generated and printed once). With nothing
// set and no admin client at all, one is generated and its credentials are printed once.
import { digestClientSecret, generateClientSecret } from './credentials/client-secrets.js';
import type { Config } from './config/index.js';
import type { Logger } from './log.js';
import { adminScope } from './catalog/admin-resource.js';
import { clientWithScopeExists, findClientById, insertClient, type ClientMetadata } from './stores/clients.js';
import type { Database } from './stores/database.js';

const generatedAdminClientId = 'portcullis-admin';

function adminMetadata(clientId: string): ClientMetadata {
  return {
    client_id: clientId,
    client_name: 'Portcullis bootstrap admin',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: adminScope,
  };
}

/** Prints credentials to stdout on their own (not through the logger, which redacts secrets). */
function announce(issuer: string, clientId: string, secret: string): void {
  process.stdout.write(
    [
      '',
      '  Portcullis created an admin client. The secret is shown only this once:',
      `    client_id:     ${clientId}`,
      `    client_secret: ${secret}`,
      '  Get an admin token with:',
      `    curl -s -u '${clientId}:${secret}' -d grant_type=client_credentials -d scope=admin ${issuer}/token`,
      '',
      '',
    ].join('\n'),
  );
}

export async function bootstrapAdminClient(deps: { db: Database; config: Config; log: Logger }): Promise<void> {
  const { bootstrapAdmin } = deps.config;
  if (bootstrapAdmin) {
    if (await findClientById(deps.db, bootstrapAdmin.clientId)) return;
    const secret = bootstrapAdmin.clientSecret ?? generateClientSecret();
    const created = await insertClient(deps.db, {
      clientId: bootstrapAdmin.clientId,
      metadata: adminMetadata(bootstrapAdmin.clientId),
      secretDigest: digestClientSecret(secret),
    });
    if (created) {
      if (bootstrapAdmin.clientSecret && bootstrapAdmin.clientSecret.length < 32) {
        deps.log.warn('BOOTSTRAP_ADMIN_CLIENT_SECRET is shorter than 32 characters; use a long random secret in production');
      }
      deps.log.info({ client_id: bootstrapAdmin.clientId }, 'created the bootstrap admin client');
      if (!bootstrapAdmin.clientSecret) announce(deps.config.issuer, bootstrapAdmin.clientId, secret);
    }
    return;
  }
  if (await clientWithScopeExists(deps.db, adminScope)) return;
  const secret = generateClientSecret();
  if (
    await insertClient(deps.db, {
      clientId: generatedAdminClientId,
      metadata: adminMetadata(generatedAdminClientId),
      secretDigest: digestClientSecret(secret),
    })
  ) {
    deps.log.warn({ client_id: generatedAdminClientId }, 'no admin client existed: generated one (credentials printed once)');
    announce(deps.config.issuer, generatedAdminClientId, secret);
  }
}
