// GET /admin/events: the audit trail, newest first. Filters: type, client_id, sub, since, until
// (ISO 8601); pages of ?limit= (1-200, default 50) continued with ?after=<next_cursor>.
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import type { Context } from 'koa';
import { badRequest } from '../http/errors.js';
import type { Database } from '../stores/database.js';
import { listSecurityEvents } from '../stores/security-events.js';
import { readPage } from './paging.js';

function text(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw badRequest(`${name} may be given once`);
  if (value !== undefined && (value.length === 0 || value.length > 256)) throw badRequest(`${name} must be 1 to 256 characters`);
  return value;
}

function time(ctx: Context, name: string): Date | undefined {
  const value = text(ctx, name);
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw badRequest(`${name} must be an ISO 8601 time`);
  return date;
}

export function createEventRoutes(deps: { db: Database }): Router {
  const router = createRouter('/events');
  router.get('/', async function listEvents(ctx) {
    const page = readPage(ctx);
    if (page.after !== undefined && !/^\d{1,18}$/.test(page.after)) throw badRequest('after must be a next_cursor value');
    const events = await listSecurityEvents(deps.db, {
      type: text(ctx, 'type'),
      clientId: text(ctx, 'client_id'),
      sub: text(ctx, 'sub'),
      since: time(ctx, 'since'),
      until: time(ctx, 'until'),
      before: page.after === undefined ? undefined : Number(page.after),
      limit: page.limit + 1,
    });
    const items = events.slice(0, page.limit);
    ctx.body = {
      items: items.map((event) => ({
        id: event.id,
        occurred_at: event.occurredAt.toISOString(),
        type: event.type,
        outcome: event.outcome,
        client_id: event.clientId ?? null,
        sub: event.sub ?? null,
        details: event.details ?? {},
      })),
      next_cursor: events.length > page.limit ? String(items[items.length - 1]!.id) : null,
    };
  });
  return router;
}
