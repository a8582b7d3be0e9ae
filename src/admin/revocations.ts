// POST /admin/revocations: {jti} | {sub} | {client_id} | {grant_id}. From the moment this
// answers, every matching token is refused at introspection and by the admin API on every
// instance; stored records of a grant (refresh tokens, codes, opaque tokens) are deleted.
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { z } from 'zod';
import { badRequest } from '../http/errors.js';
import { readJsonBody } from '../http/json-body.js';
import type { EphemeralStore } from '../stores/ephemeral/types.js';
import { revokedBeforeLifetime, type RevocationStore } from '../stores/revocations/types.js';
import { isStorableText } from '../stores/text.js';
import { opaqueTokenReference } from '../tokens/opaque-token-reference.js';
import { revocationClockMarginMs } from '../revocation/revocations.js';
import { describeIssue } from './client-schema.js';

const id = z.string().min(1).max(256);
const schema = z.union([
  z.strictObject({ jti: id }),
  z.strictObject({ sub: id }),
  z.strictObject({ client_id: id }),
  z.strictObject({ grant_id: id }),
]);

/**
 * An opaque access token's value is its id (oidc-provider's opaque format), so `{jti}` may name
 * one. Its value is a bearer credential: it is deleted and listed by reference (as RFC 7009
 * revocation does, oidc/adapter.ts), which also reaches the tokens exchanged from it, and never
 * published to the feed as it is. True when `jti` was such a token.
 */
async function revokeOpaqueAccessToken(deps: { revocations: RevocationStore; store: EphemeralStore }, jti: string): Promise<boolean> {
  if (!isStorableText(jti)) return false;
  for (const model of ['AccessToken', 'ClientCredentials']) {
    const record = await deps.store.find(model, jti);
    if (typeof record?.exp !== 'number') continue;
    await deps.revocations.revokeToken(opaqueTokenReference(jti), record.exp);
    await deps.store.destroy(model, jti);
    return true;
  }
  return false;
}

export function createRevocationRoutes(deps: { revocations: RevocationStore; store: EphemeralStore }): Router {
  const router = createRouter('/revocations');
  router.post('/', async function revoke(ctx) {
    const parsed = schema.safeParse(await readJsonBody(ctx));
    if (!parsed.success) {
      throw badRequest(`give exactly one of jti, sub, client_id, grant_id (${describeIssue(parsed.error)})`);
    }
    // Milliseconds: a token issued before the mark is revoked, one issued after it lives (the
    // store sets the mark a clock margin ahead and answers only once it has passed:
    // revocations.ts).
    const now = Date.now();
    const body = parsed.data;
    if ('jti' in body) {
      if (!(await revokeOpaqueAccessToken(deps, body.jti))) {
        await deps.revocations.revokeToken(body.jti, Math.floor(now / 1000) + revokedBeforeLifetime);
      }
    } else if ('sub' in body) {
      await deps.revocations.revokeIssuedBefore('sub', body.sub, now, revokedBeforeLifetime);
    } else if ('client_id' in body) {
      await deps.revocations.revokeIssuedBefore('client', body.client_id, now, revokedBeforeLifetime);
    } else {
      await deps.revocations.revokeIssuedBefore('grant', body.grant_id, now, revokedBeforeLifetime);
      await deps.store.revokeByGrantId(body.grant_id);
    }
    // What the mark says: for sub, client and grant, a little ahead of now (the clock margin).
    const revokedAt = 'jti' in body ? now : now + revocationClockMarginMs;
    ctx.body = { revoked: body, revoked_at: Math.floor(revokedAt / 1000), revoked_at_ms: revokedAt };
  });
  return router;
}
