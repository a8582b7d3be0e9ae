// GET /revocations: the revocation feed for resource servers, as Server-Sent Events.
//
//   id: 42
//   event: revocation
//   data: {"kind":"sub","value":"<sub>","revoked_at":1795433386,"revoked_at_ms":1795433386417,"expires_at":1795519846}
//
// kind "jti": that token is revoked, and so is every token exchanged from it (whose
// `exchanged_from` names it). kind "sub" | "client" | "grant": every token whose `sub`,
// `client_id` (or a `client_id` in its `exchanged_from`) or `gid` matches `value` and that was
// issued at or before `revoked_at_ms` is revoked. Times: `revoked_at_ms` is milliseconds since
// the epoch, compared with a token's `iat_ms` (its issue time in ms; a token without it is taken
// as issued at the first millisecond of its `iat` second, so a revocation in that second revokes
// it). `revoked_at` is the same moment in epoch seconds (rounded down), kept for readers that
// predate `revoked_at_ms`: they compare `iat <= revoked_at` at second precision, which fails
// closed. `expires_at` is epoch seconds: the event may be forgotten after it. A fresh connection
// first receives every unexpired event (the whole current state), then one `event: ready` (no
// id) marking that it is up to date, then live events; reconnecting with `Last-Event-ID` (or
// `?after=`) resumes after that event. Comment lines (": keep-alive") are sent every 15 s.
import { PassThrough } from 'node:stream';
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { badRequest } from '../http/errors.js';
import { createBearerAuth, type BearerAuthDeps } from '../tokens/bearer-auth.js';
import { feedResourceIdentifier, feedScope } from '../catalog/feed-resource.js';
import type { RevocationEvent } from '../stores/revocation-events.js';
import type { FeedHub } from './feed-hub.js';

const keepAliveMs = 15_000;

function formatEvent(event: RevocationEvent): string {
  const data = {
    kind: event.kind,
    value: event.value,
    revoked_at: Math.floor(event.revokedAt / 1000),
    revoked_at_ms: event.revokedAt,
    expires_at: event.expiresAt,
  };
  return `id: ${event.id}\nevent: revocation\ndata: ${JSON.stringify(data)}\n\n`;
}

export function createFeedRoutes(deps: BearerAuthDeps & { hub: FeedHub; issuer: string }): Router {
  const router = createRouter();
  const auth = createBearerAuth(deps, { realm: 'revocations', audience: feedResourceIdentifier(deps.issuer), scope: feedScope });

  router.get('/revocations', auth, async function streamRevocations(ctx) {
    const resumeFrom = ctx.get('last-event-id') || (typeof ctx.query.after === 'string' ? ctx.query.after : '0');
    if (!/^\d{1,18}$/.test(resumeFrom)) throw badRequest('Last-Event-ID / after must be an event id');

    const stream = new PassThrough();
    const write = (text: string): void => {
      if (!stream.writableEnded) stream.write(text);
    };
    // Clients reconnect after a second when the stream drops (SSE `retry`, milliseconds).
    write('retry: 1000\n\n');
    // Subscribe before answering, so a store failure is still a clean error response.
    const unsubscribe = await deps.hub.subscribe(
      { send: (event) => write(formatEvent(event)), end: () => stream.end() },
      Number(resumeFrom),
    );
    write('event: ready\ndata: {}\n\n');
    const keepAlive = setInterval(() => write(': keep-alive\n\n'), keepAliveMs);
    const stop = (): void => {
      clearInterval(keepAlive);
      unsubscribe();
      stream.end();
    };
    ctx.req.on('close', stop);
    stream.on('error', stop);

    ctx.req.socket.setTimeout(0);
    ctx.set({ 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no', Connection: 'keep-alive' });
    ctx.type = 'text/event-stream; charset=utf-8';
    ctx.status = 200;
    ctx.body = stream;
  });
  return router;
}
