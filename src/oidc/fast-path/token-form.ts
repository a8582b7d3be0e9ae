// The body of a token or introspection request, read once. A fast path reads it to decide whether
// it can answer; when it hands the request to oidc-provider, the library parses the same bytes
// (internals.ts swaps those endpoints' body reader for one that takes them from here), so a
// request is never read twice and both see exactly the same parameters.
import querystring from 'node:querystring';
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import { HttpError } from '../../http/errors.js';

/** The library's own body limit (oidc-provider/lib/shared/selective_body.js LIMIT), so both refuse alike. */
const maxTokenBodyBytes = 56 * 1024;

const bodiesReadEarly = new WeakMap<IncomingMessage, string>();

/** What the fast path read of this request, for the library's body parser; undefined if nothing. */
export function takeBodyReadEarly(req: IncomingMessage): string | undefined {
  const body = bodiesReadEarly.get(req);
  bodiesReadEarly.delete(req);
  return body;
}

const unreadableBody = () => new HttpError(400, 'invalid_request', 'failed to parse the request body');

/** The body, which must be exactly `length` bytes (listeners, not an async iterator: hot path). */
function readExactly(req: IncomingMessage, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      if (received === length) resolve(Buffer.concat(chunks, received).toString('utf8'));
      else reject(unreadableBody());
    };
    // An aborted request closes (and may error) without ending.
    const onFailure = (): void => {
      stop();
      reject(unreadableBody());
    };
    const stop = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onFailure);
      req.off('close', onFailure);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onFailure);
    req.on('close', onFailure);
  });
}

export type Form = Record<string, string>;

/** How clients send a UTF-8 form (other spellings are the library's to parse). */
const formContentTypes = new Set([
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded;charset=utf-8',
  'application/x-www-form-urlencoded; charset=utf-8',
]);

/**
 * The form parameters of a token-endpoint request the fast path may look at: an
 * application/x-www-form-urlencoded UTF-8 body (`formContentTypes`) with a Content-Length within
 * the limit, every parameter given once. Anything else (another type or charset, chunked, too
 * large, a repeated parameter) is undefined and goes to the library, which answers it with its
 * own errors; the body, when read, is kept for it. Parsed as the library parses (querystring).
 */
export async function readTokenForm(ctx: Context): Promise<Form | undefined> {
  if (!formContentTypes.has(ctx.get('content-type').toLowerCase())) return undefined;
  const length = ctx.request.length;
  if (length === undefined || length > maxTokenBodyBytes || !ctx.req.readable) return undefined;
  const body = await readExactly(ctx.req, length);
  bodiesReadEarly.set(ctx.req, body);
  const form: Form = {};
  for (const [name, value] of Object.entries(querystring.parse(body))) {
    if (typeof value !== 'string') return undefined;
    form[name] = value;
  }
  return form;
}

/** True when the form has no parameter outside `understood` (anything else is the library's). */
export function onlyUnderstood(form: Form, understood: ReadonlySet<string>): boolean {
  for (const name in form) if (!understood.has(name)) return false;
  return true;
}

/**
 * Headers that ask for something the fast path does not do (CORS, client attestation). A DPoP
 * proof is checked before the fast paths (oidc/dpop-gate.ts); each grant decides what it binds.
 */
const otherMechanisms = ['origin', 'oauth-client-attestation', 'oauth-client-attestation-pop'];

export function asksForOtherMechanisms(ctx: Context): boolean {
  return otherMechanisms.some((header) => ctx.get(header) !== '');
}
