// /admin/keys: the signing keys' public parts and their place in the rotation schedule, and
// POST /admin/keys/rotate to start a staged rotation (new keys published now, signing later).
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { z } from 'zod';
import { badRequest } from '../http/errors.js';
import { readJsonBody } from '../http/json-body.js';
import type { KeyRing } from '../keys/key-ring.js';
import type { KeyPhase } from '../keys/key-schedule.js';
import { describeIssue } from './client-schema.js';

const rotateSchema = z.strictObject({ delay_seconds: z.number().int().min(0).max(86_400).optional() });

function present(phase: KeyPhase): Record<string, unknown> {
  return { keys: phase.published, signers: phase.signers, next_change: phase.nextChange ?? null };
}

export function createKeyRoutes(deps: { keyRing: KeyRing; keyRotationDelay: number }): Router {
  const router = createRouter('/keys');
  router.get('/', function listKeys(ctx) {
    ctx.body = present(deps.keyRing.current());
  });
  // The new keys are in the JWKS at once; they sign after the delay (KEY_ROTATION_DELAY by
  // default), when every resource server's JWKS cache has had the chance to pick them up.
  router.post('/rotate', async function rotateKeys(ctx) {
    const body = ctx.request.length ? await readJsonBody(ctx) : {};
    const parsed = rotateSchema.safeParse(body);
    if (!parsed.success) throw badRequest(describeIssue(parsed.error));
    const phase = await deps.keyRing.rotate(parsed.data.delay_seconds ?? deps.keyRotationDelay);
    ctx.status = 202;
    ctx.body = present(phase);
  });
  return router;
}
