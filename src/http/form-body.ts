// Reads an application/x-www-form-urlencoded body (the login, consent and logout forms).
import type { Context } from 'koa';
import { HttpError } from './errors.js';
import { hasUnsafeStrings } from '../stores/text.js';

const maxFormBodyBytes = 16 * 1024;

/** Single-valued form fields; a field given twice is refused (RFC 6749 §3.1 spirit). */
export async function readFormBody(ctx: Context): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new HttpError(415, 'invalid_request', 'the form must be sent as application/x-www-form-urlencoded');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxFormBodyBytes) throw new HttpError(413, 'invalid_request', 'the form is too large');
    chunks.push(chunk);
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) {
    if (Object.hasOwn(fields, name)) throw new HttpError(400, 'invalid_request', `the field "${name}" was given twice`);
    fields[name] = value;
  }
  if (hasUnsafeStrings(fields)) throw new HttpError(400, 'invalid_request', 'the form must not contain NUL characters');
  return fields;
}
