// `jti` values for access tokens: 256 bits from the CSPRNG (RFC 9068 §2.2 asks for a unique
// identifier; the library's are 43 characters as well). Drawn from a pool filled 128 ids at a
// time, because one randomBytes call per token is a measurable share of a token request.
import crypto from 'node:crypto';

const idBytes = 32;
const pool = Buffer.allocUnsafe(idBytes * 128);
let offset = pool.length;

export function newTokenId(): string {
  if (offset === pool.length) {
    crypto.randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + idBytes);
  offset += idBytes;
  return id;
}
