// /admin/clients: register, read, replace and delete clients; rotate their secrets.
// Secrets are generated here, returned once, and stored only as SHA-256 digests.
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import type { Context } from 'koa';
import type { Catalog } from '../catalog/catalog.js';
import { digestClientSecret, generateClientId, generateClientSecret } from '../credentials/client-secrets.js';
import { badRequest, conflict, HttpError, notFound } from '../http/errors.js';
import { readJsonBody } from '../http/json-body.js';
import { adminScope } from '../catalog/admin-resource.js';
import { oidcScopes, splitScope } from '../tokens/scopes.js';
import { validateClientMetadata } from '../oidc/validate-client.js';
import { servingProvider } from '../oidc/serving-provider.js';
import {
  deleteClient,
  findClientById,
  insertClient,
  listClients,
  updateClient,
  type ClientMetadata,
  type ClientRecord,
} from '../stores/clients.js';
import type { Database } from '../stores/database.js';
import { revokedBeforeLifetime, type RevocationStore, type RevocationWriter } from '../stores/revocations/types.js';
import type { Logger } from '../log.js';
import { clientIdPattern, clientMetadataSchema, describeIssue, secretAuthMethods } from './client-schema.js';
import { readPage } from './paging.js';
import { redirectUriProblem } from './redirect-uris.js';

export interface ClientRoutesDeps {
  db: Database;
  catalog: Catalog;
  revocations: RevocationStore;
  log: Logger;
}

function metadataError(description: string): HttpError {
  return badRequest(description, 'invalid_client_metadata');
}

/** Parses a body into stored metadata, with RFC 7591's defaults made explicit. */
async function parseClientMetadata(deps: ClientRoutesDeps, body: unknown, clientId: string): Promise<ClientMetadata> {
  const parsed = clientMetadataSchema.safeParse(body);
  if (!parsed.success) throw metadataError(describeIssue(parsed.error));
  const { client_id: _ignored, ...input } = parsed.data;
  const grantTypes = input.grant_types ?? ['authorization_code'];
  const usesRedirects = grantTypes.includes('authorization_code');
  const metadata: ClientMetadata = {
    ...input,
    client_id: clientId,
    grant_types: grantTypes,
    // RFC 7591 §2.1: response_types follow grant_types; a client without the code grant has none.
    response_types: input.response_types ?? (usesRedirects ? ['code'] : []),
    redirect_uris: input.redirect_uris ?? [],
    token_endpoint_auth_method: input.token_endpoint_auth_method ?? 'client_secret_basic',
  };
  const applicationType = metadata.application_type === 'native' ? 'native' : 'web';
  for (const field of ['redirect_uris', 'post_logout_redirect_uris'] as const) {
    for (const uri of (metadata[field] as string[] | undefined) ?? []) {
      const problem = redirectUriProblem(uri, applicationType);
      if (problem) throw badRequest(`${field}: ${uri.slice(0, 200)} ${problem}`, 'invalid_redirect_uri');
    }
  }
  if (grantTypes.includes('refresh_token') && !usesRedirects) {
    throw metadataError('grant_types: refresh_token needs authorization_code');
  }
  // Service grants need an authenticated client: a public client's id is no credential.
  for (const grant of ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']) {
    if (grantTypes.includes(grant as never) && metadata.token_endpoint_auth_method === 'none') {
      throw metadataError(`grant_types: ${grant} needs an authenticated client (not token_endpoint_auth_method none)`);
    }
  }
  await checkScopesExist(deps, splitScope(metadata.scope));
  return metadata;
}

// A scope that no API defines is almost always a typo; refuse it rather than store it.
async function checkScopesExist(deps: ClientRoutesDeps, scopes: string[]): Promise<void> {
  const defined = new Set([...oidcScopes, adminScope]);
  for (const api of await deps.catalog.listResources()) for (const scope of api.scopes) defined.add(scope);
  const unknown = scopes.filter((scope) => !defined.has(scope));
  if (unknown.length) throw metadataError(`scope: not defined by any API: ${unknown.join(' ')}`);
}

function present(record: Pick<ClientRecord, 'metadata' | 'createdAt'>, secret?: string): Record<string, unknown> {
  return {
    ...record.metadata,
    client_id_issued_at: Math.floor(record.createdAt.getTime() / 1000),
    ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
  };
}

/** Every token issued to the client so far stops working, wherever it is checked (DELETE). */
async function revokeEverythingIssuedTo(revocations: RevocationWriter, clientId: string): Promise<void> {
  await revocations.revokeIssuedBefore('client', clientId, Date.now(), revokedBeforeLifetime);
}

/**
 * The tokens the client holds as itself stop working: its client-credentials access tokens,
 * whose `sub` is its client_id (RFC 9068 §2.2), JWT and opaque alike (the adapter checks an
 * opaque ClientCredentials record under its client_id as subject: oidc/adapter.ts), and tokens
 * exchanged from them, which keep that subject (RFC 8693 §2.2). Users' tokens for the client
 * are not touched: the subject kind matches only tokens whose subject is this id.
 */
async function revokeTokensHeldAsItself(revocations: RevocationWriter, clientId: string): Promise<void> {
  await revocations.revokeIssuedBefore('sub', clientId, Date.now(), revokedBeforeLifetime);
}

/**
 * The second mark of a change that withdrew what the client's own tokens carry (see PUT). The
 * change and its first mark are committed: a failure here is logged, not answered, since
 * answering an error would tell the admin the change did not happen.
 */
async function revokeAgainAfterChange(deps: ClientRoutesDeps, clientId: string): Promise<void> {
  await revokeTokensHeldAsItself(deps.revocations, clientId).catch((error: unknown) => {
    deps.log.warn({ err: error instanceof Error ? error.message : String(error), clientId }, 'second revocation mark after a client change not written; the first one stands');
  });
}

/** Scopes the client held before a change and no longer holds after it. */
function withdrawnScopes(before: ClientMetadata, after: ClientMetadata): string[] {
  const kept = new Set(splitScope(after.scope));
  return splitScope(before.scope).filter((scope) => !kept.has(scope));
}

/**
 * Withdrawn scopes that grant access to an API (ours, like `admin`, or one in the catalog), as
 * opposed to OpenID Connect scopes, which only name claims about the user released to the app.
 */
function withdrawnApiScopes(before: ClientMetadata, after: ClientMetadata): string[] {
  return withdrawnScopes(before, after).filter((scope) => !oidcScopes.has(scope));
}

function clientIdParam(ctx: Context): string {
  const clientId = String((ctx.params as Record<string, string | undefined>).client_id ?? '');
  if (!clientIdPattern.test(clientId)) throw notFound('no client with this client_id');
  return clientId;
}

export function createClientRoutes(deps: ClientRoutesDeps): Router {
  const router = createRouter('/clients');

  router.post('/', async function registerClient(ctx) {
    const body = await readJsonBody(ctx);
    const requestedId = (body as { client_id?: unknown } | null)?.client_id;
    const clientId = typeof requestedId === 'string' ? requestedId : generateClientId();
    const metadata = await parseClientMetadata(deps, body, clientId);
    const secret = secretAuthMethods.has(metadata.token_endpoint_auth_method as string) ? generateClientSecret() : undefined;
    const secretDigest = secret ? digestClientSecret(secret) : undefined;
    await validateClientMetadata(servingProvider(ctx), metadata, secretDigest);
    if (!(await insertClient(deps.db, { clientId, metadata, secretDigest }))) {
      throw conflict(`a client with client_id "${clientId}" already exists`);
    }
    deps.catalog.invalidate({ type: 'client', id: clientId });
    ctx.status = 201;
    ctx.set('Location', `/admin/clients/${encodeURIComponent(clientId)}`);
    ctx.body = present({ metadata, createdAt: new Date() }, secret);
  });

  router.get('/', async function listAllClients(ctx) {
    const page = readPage(ctx);
    const records = await listClients(deps.db, { limit: page.limit + 1, after: page.after });
    ctx.body = {
      items: records.slice(0, page.limit).map((record) => present(record)),
      next_cursor: records.length > page.limit ? records[page.limit - 1]!.clientId : null,
    };
  });

  router.get('/:client_id', async function readClient(ctx) {
    const record = await findClientById(deps.db, clientIdParam(ctx));
    if (!record) throw notFound('no client with this client_id');
    ctx.body = present(record);
  });

  router.put('/:client_id', async function replaceClient(ctx) {
    const clientId = clientIdParam(ctx);
    const body = await readJsonBody(ctx);
    const requestedId = (body as { client_id?: unknown } | null)?.client_id;
    if (requestedId !== undefined && requestedId !== clientId) throw metadataError('client_id cannot be changed');
    const existing = await findClientById(deps.db, clientId);
    if (!existing) throw notFound('no client with this client_id');
    const metadata = await parseClientMetadata(deps, body, clientId);
    const needsSecret = secretAuthMethods.has(metadata.token_endpoint_auth_method as string);
    // Keep the secret while the client still uses one; issue one (shown once) when it starts to.
    const secret = needsSecret && !existing.secretDigest ? generateClientSecret() : undefined;
    const secretDigest = needsSecret ? (secret ? digestClientSecret(secret) : existing.secretDigest) : undefined;
    await validateClientMetadata(servingProvider(ctx), metadata, secretDigest);
    // Touch the stored digest only when it changes, so a PUT racing a secret rotation cannot
    // bring the old secret back.
    const digestChange = secret ? { secretDigest: secretDigest! } : needsSecret ? {} : { secretDigest: null };
    // Tokens carry the scope granted when they were issued and JWTs are checked offline, so an
    // API scope taken away lives on in them until they expire. What changes at once:
    // - the tokens the client holds as itself (client credentials) are revoked: it asks again
    //   and gets its current scope. These are the tokens of a service acting on its own
    //   authority, an admin client's among them (tokens/bearer-auth.ts also checks the current
    //   scope on every admin call, whatever the revocation state says);
    // - a user's refresh token and codes keep working, but can no longer yield the scope: the
    //   token endpoint grants only scopes the client holds now (tokens/resource-access.ts);
    // - user-delegated access tokens already issued with the scope live out their API's TTL
    //   (minutes), as any RFC 9068 token checked offline does. Revoking every token of the
    //   client (kind 'client') instead would sign every user of the app out: that is what
    //   DELETE, or POST /admin/revocations {client_id}, is for.
    // Withdrawing an OpenID Connect scope (openid, profile, email, offline_access) revokes
    // nothing: new authorizations can no longer ask for it; existing grants keep what the user
    // consented to.
    // The revocation commits with the change (RevocationStore.withChange), so neither happens
    // without the other. Its mark lies a clock margin past the commit, and other instances drop
    // the old metadata when the commit's NOTIFY reaches them; a second mark once this instance
    // has dropped it covers a token issued meanwhile by an instance that was slow to hear.
    const apiScopeWithdrawn = withdrawnApiScopes(existing.metadata, metadata).length > 0;
    const updated = await deps.revocations.withChange(async (tx, revoke) => {
      if (!(await updateClient(tx, { clientId, metadata, ...digestChange }))) return false;
      if (apiScopeWithdrawn) await revokeTokensHeldAsItself(revoke, clientId);
      return true;
    });
    if (!updated) throw notFound('no client with this client_id');
    deps.catalog.invalidate({ type: 'client', id: clientId });
    if (apiScopeWithdrawn) await revokeAgainAfterChange(deps, clientId);
    ctx.body = present({ metadata, createdAt: existing.createdAt }, secret);
  });

  router.post('/:client_id/secret', async function rotateClientSecret(ctx) {
    const clientId = clientIdParam(ctx);
    const existing = await findClientById(deps.db, clientId);
    if (!existing) throw notFound('no client with this client_id');
    if (!secretAuthMethods.has(existing.metadata.token_endpoint_auth_method as string)) {
      throw badRequest(`the client authenticates with ${String(existing.metadata.token_endpoint_auth_method)}, not a secret`);
    }
    const secret = generateClientSecret();
    // A rotation is how a leaked secret is taken back: the tokens the old secret bought (those
    // the client holds as itself) stop working with it, in the same transaction.
    const rotated = await deps.revocations.withChange(async (tx, revoke) => {
      if (!(await updateClient(tx, { clientId, metadata: existing.metadata, secretDigest: digestClientSecret(secret) }))) return false;
      await revokeTokensHeldAsItself(revoke, clientId);
      return true;
    });
    if (!rotated) throw notFound('no client with this client_id');
    deps.catalog.invalidate({ type: 'client', id: clientId });
    await revokeAgainAfterChange(deps, clientId);
    ctx.body = { client_id: clientId, client_secret: secret, client_secret_expires_at: 0 };
  });

  router.delete('/:client_id', async function removeClient(ctx) {
    const clientId = clientIdParam(ctx);
    // Its JWT access tokens are verified offline; the revocation state stops them, users'
    // refresh tokens, codes and session-bound tokens with them. Deleted and revoked in one
    // transaction: a store failure after the commit cannot leave a deleted client's tokens alive.
    const deleted = await deps.revocations.withChange(async (tx, revoke) => {
      if (!(await deleteClient(tx, clientId))) return false;
      await revokeEverythingIssuedTo(revoke, clientId);
      return true;
    });
    if (!deleted) throw notFound('no client with this client_id');
    deps.catalog.invalidate({ type: 'client', id: clientId });
    ctx.status = 204;
  });

  return router;
}
