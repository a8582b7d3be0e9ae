// Keyset pagination for admin lists: ?limit=1..200 (default 50) and ?after=<next_cursor>.
import type { Context } from 'koa';
import { badRequest } from '../http/errors.js';

export function readPage(ctx: Context): { limit: number; after: string | undefined } {
  const limitParam = ctx.query.limit;
  const afterParam = ctx.query.after;
  if (Array.isArray(limitParam) || Array.isArray(afterParam)) throw badRequest('limit and after may be given once');
  let limit = 50;
  if (limitParam !== undefined) {
    if (!/^\d{1,3}$/.test(limitParam) || Number(limitParam) < 1 || Number(limitParam) > 200) {
      throw badRequest('limit must be a whole number from 1 to 200');
    }
    limit = Number(limitParam);
  }
  if (afterParam !== undefined && (afterParam.length > 2048 || afterParam.includes('\u0000'))) {
    throw badRequest('after must be a next_cursor value');
  }
  return { limit, after: afterParam };
}
