// Reads a JSON request body with a size limit. Bad input is a 4xx with an OAuth-style code.
import type { Context } from 'koa';
import { HttpError } from './errors.js';
import { hasUnsafeStrings } from '../stores/text.js';

const maxJsonBodyBytes = 64 * 1024;

export async function readJsonBody(ctx: Context): Promise<unknown> {
  if (!ctx.is('application/json')) {
    throw new HttpError(415, 'invalid_request', 'the request body must be application/json');
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > maxJsonBodyBytes) {
    throw new HttpError(413, 'invalid_request', `the request body must be at most ${maxJsonBodyBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxJsonBodyBytes) {
      throw new HttpError(413, 'invalid_request', `the request body must be at most ${maxJsonBodyBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'invalid_request', 'the request body is not valid JSON');
  }
  if (hasUnsafeStrings(value)) {
    throw new HttpError(400, 'invalid_request', 'strings must not contain NUL characters or unpaired surrogates');
  }
  return value;
}
