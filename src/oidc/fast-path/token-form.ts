// The body of a token request, read once. The fast path reads it to decide whether it can answer;
// when it hands the request to oidc-provider, the library parses the same bytes (internals.ts
// swaps its token-endpoint body reader for one that takes them from here), so a request is never
// read twice and both see exactly the same parameters.
import querystring from 'node:querystring';
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import { HttpError } from '../../http/errors.js';

/** The library's own body limit (lib/shared/selective_body.js LIMIT), so both refuse alike. */
const maxTokenBodyBytes = 56 * 1024;

const bodiesReadEarly = new WeakMap<IncomingMessage, string>();

/** What the fast path read of this request, for the library's body parser; undefined if nothing. */
export function takeBodyReadEarly(req: IncomingMessage): string | undefined {
  const body = bodiesReadEarly.get(req);
  bodiesReadEarly.delete(req);
  return body;
}

async function readExactly(req: IncomingMessage, length: number): Promise<string> {
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > length) break;
    chunks.push(chunk);
  }
  if (received !== length) throw new HttpError(400, 'invalid_request', 'failed to parse the request body');
  return Buffer.concat(chunks, received).toString('utf8');
}

/**
 * The form parameters of a token request the fast path may look at: an
 * application/x-www-form-urlencoded UTF-8 body with a Content-Length within the limit. Anything
 * else (another type or charset, chunked, too large) is left unread for the library, which
 * answers it with its own errors. Parsed as the library parses (querystring), so a repeated
 * parameter comes out as an array.
 */
export async function readTokenForm(ctx: Context): Promise<querystring.ParsedUrlQuery | undefined> {
  if (ctx.request.type !== 'application/x-www-form-urlencoded') return undefined;
  const charset = ctx.request.charset;
  if (charset && charset.toLowerCase() !== 'utf-8') return undefined;
  const length = ctx.request.length;
  if (length === undefined || length > maxTokenBodyBytes || !ctx.req.readable) return undefined;
  const body = await readExactly(ctx.req, length);
  bodiesReadEarly.set(ctx.req, body);
  return querystring.parse(body);
}
