// GET /revocations: the revocation feed for resource servers, as Server-Sent Events.
//
//   id: 42
//   event: revocation
//   data: {"kind":"jti","value":"<jti>","revoked_at":1795433386,"expires_at":1795433686}
//
// kind "jti": that token is revoked. kind "sub" | "client" | "grant": every token whose `sub`,
// `client_id` or `gid` matches `value` and whose `iat` <= `revoked_at` is revoked. An event may be
// forgotten after `expires_at`. A fresh connection first receives every unexpired event (the
// whole current state), then one `event: ready` (no id) marking that it is up to date, then
// live events; reconnecting with `Last-Event-ID` (or `?after=`) resumes after that event.
// Comment lines (": keep-alive") are sent every 15 s.
import { PassThrough } from 'node:stream';
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { badRequest } from '../http/errors.js';
import { createBearerAuth, type BearerAuthDeps } from '../http/bearer-auth.js';
import { feedResourceIdentifier, feedScope } from '../oidc/feed-resource.js';
import type { RevocationEvent } from '../stores/revocation-events.js';
import type { FeedHub } from './feed-hub.js';

const keepAliveMs = 15_000;

function formatEvent(event: RevocationEvent): string {
  const data = { kind: event.kind, value: event.value, revoked_at: event.revokedAt, expires_at: event.expiresAt };
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
