// /admin/resources: the APIs tokens are issued for. The identifier is an absolute URI without
// a fragment (RFC 8707 §2) and becomes the `aud` of the API's access tokens.
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Catalog } from '../catalog/catalog.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import { readJsonBody } from '../http/json-body.js';
import { adminResourceIdentifier, adminScope } from '../catalog/admin-resource.js';
import { feedResourceIdentifier } from '../catalog/feed-resource.js';
import { oidcScopes } from '../tokens/scopes.js';
import { findClientById } from '../stores/clients.js';
import type { Database } from '../stores/database.js';
import {
  deleteResource,
  findResource,
  insertResource,
  listResources,
  updateResource,
  type ResourceInput,
  type ResourceRecord,
} from '../stores/resources.js';
import { describeIssue } from './client-schema.js';
import { isStorableText } from '../stores/text.js';
import { readPage } from './paging.js';
import { scopeTokenSource } from '../tokens/scopes.js';

const defaultAccessTokenTtl = 300;

const identifier = z
  .string()
  .max(2048)
  .refine(
    // RFC 3986 URIs are ASCII; a raw "é" would never match the percent-encoded form a client sends.
    (value) => /^[\x21-\x7E]+$/.test(value) && URL.canParse(value) && !value.includes('#'),
    'must be an absolute URI (ASCII, percent-encoded) without a fragment',
  );
const scopeToken = z
  .string()
  .regex(new RegExp(`^${scopeTokenSource}{1,128}$`), 'must be scope tokens (RFC 6749 §3.3)')
  .refine((value) => !oidcScopes.has(value) && value !== adminScope, 'is reserved for OpenID Connect or the admin API');
const fields = {
  name: z.string().min(1).max(256).nullable().optional(),
  scopes: z.array(scopeToken).min(1).max(100),
  access_token_ttl: z.number().int().min(30).max(86_400).optional(),
  access_token_format: z.enum(['jwt', 'opaque']).optional(),
  dpop_bound_access_tokens: z.boolean().optional(),
  client_id: z.string().max(128).nullable().optional(),
};
const createSchema = z.strictObject({ identifier, ...fields });
const replaceSchema = z.strictObject({ identifier: identifier.optional(), ...fields });

function present(resource: ResourceRecord): Record<string, unknown> {
  return {
    identifier: resource.identifier,
    name: resource.name ?? null,
    scopes: resource.scopes,
    access_token_ttl: resource.accessTokenTtl,
    access_token_format: resource.accessTokenFormat,
    dpop_bound_access_tokens: resource.dpopBoundAccessTokens,
    client_id: resource.clientId ?? null,
    created_at: resource.createdAt.toISOString(),
    updated_at: resource.updatedAt.toISOString(),
  };
}

export function createResourceRoutes(deps: { db: Database; catalog: Catalog; issuer: string }): Router {
  const router = createRouter('/resources');
  const reserved = new Set([adminResourceIdentifier(deps.issuer), feedResourceIdentifier(deps.issuer)]);

  async function toInput(id: string, data: z.infer<typeof replaceSchema>): Promise<ResourceInput> {
    if (data.client_id && !(await findClientById(deps.db, data.client_id))) {
      throw badRequest(`client_id: no client "${data.client_id}"`);
    }
    return {
      identifier: id,
      name: data.name ?? undefined,
      scopes: [...new Set(data.scopes)],
      accessTokenTtl: data.access_token_ttl ?? defaultAccessTokenTtl,
      accessTokenFormat: data.access_token_format ?? 'jwt',
      dpopBoundAccessTokens: data.dpop_bound_access_tokens ?? false,
      clientId: data.client_id ?? undefined,
    };
  }

  function identifierParam(ctx: Context): string {
    const value = String((ctx.params as Record<string, string | undefined>).identifier ?? '');
    if (!value || value.length > 2048 || !isStorableText(value)) throw notFound('no API with this identifier');
    return value;
  }

  router.post('/', async function createResource(ctx) {
    const parsed = createSchema.safeParse(await readJsonBody(ctx));
    if (!parsed.success) throw badRequest(describeIssue(parsed.error));
    if (reserved.has(parsed.data.identifier)) throw conflict('this identifier is reserved for a built-in API of this server');
    const created = await insertResource(deps.db, await toInput(parsed.data.identifier, parsed.data));
    if (!created) throw conflict(`an API with identifier "${parsed.data.identifier}" already exists`);
    deps.catalog.invalidate({ type: 'resource', id: created.identifier });
    ctx.status = 201;
    ctx.set('Location', `/admin/resources/${encodeURIComponent(created.identifier)}`);
    ctx.body = present(created);
  });

  router.get('/', async function listAllResources(ctx) {
    const page = readPage(ctx);
    const records = await listResources(deps.db, { limit: page.limit + 1, after: page.after });
    ctx.body = {
      items: records.slice(0, page.limit).map(present),
      next_cursor: records.length > page.limit ? records[page.limit - 1]!.identifier : null,
    };
  });

  router.get('/:identifier', async function readResource(ctx) {
    const record = await findResource(deps.db, identifierParam(ctx));
    if (!record) throw notFound('no API with this identifier');
    ctx.body = present(record);
  });

  router.put('/:identifier', async function replaceResource(ctx) {
    const id = identifierParam(ctx);
    const parsed = replaceSchema.safeParse(await readJsonBody(ctx));
    if (!parsed.success) throw badRequest(describeIssue(parsed.error));
    if (parsed.data.identifier !== undefined && parsed.data.identifier !== id) {
      throw badRequest('identifier cannot be changed');
    }
    const updated = await updateResource(deps.db, await toInput(id, parsed.data));
    if (!updated) throw notFound('no API with this identifier');
    deps.catalog.invalidate({ type: 'resource', id });
    ctx.body = present(updated);
  });

  router.delete('/:identifier', async function removeResource(ctx) {
    const id = identifierParam(ctx);
    if (!(await deleteResource(deps.db, id))) throw notFound('no API with this identifier');
    deps.catalog.invalidate({ type: 'resource', id });
    ctx.status = 204;
  });

  return router;
}
