// HTTP Basic credentials (RFC 7617) as OAuth uses them (RFC 6749 §2.3.1: client id and secret
// are form-urlencoded before they are joined and base64-encoded). One reader for the token fast
// path, which accepts only the plainest form and hands anything else to the library, and for
// the per-client rate limit, which only needs to know whose budget a request would spend.

export interface BasicCredentials {
  /** The base64 text of the header, as sent. */
  encoded: string;
  /** The two parts as they were encoded (still form-urlencoded). */
  rawId: string;
  rawSecret: string;
}

// The scheme is case-insensitive (RFC 7235 §2.1); a bound keeps a huge header from being decoded.
const basicHeader = /^Basic ([A-Za-z0-9+/=]{1,2048})$/i;

/** The id and secret of a Basic header, still form-urlencoded; undefined when it is none. */
export function readBasicCredentials(header: string): BasicCredentials | undefined {
  const encoded = basicHeader.exec(header)?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { encoded, rawId: decoded.slice(0, colon), rawSecret: decoded.slice(colon + 1) };
}

/**
 * True when the header is Basic and names no client: its id part is empty (`:secret`). Such a
 * request carries no client identity (RFC 6749 §2.3.1), like one with no header at all.
 */
export function basicHeaderNamesNoClient(header: string): boolean {
  const encoded = basicHeader.exec(header)?.[1];
  return encoded !== undefined && Buffer.from(encoded, 'base64').toString('utf8').startsWith(':');
}

/** True when the base64 text is the one canonical encoding of its bytes (Buffer.from is lenient). */
export function isCanonicalBase64(encoded: string): boolean {
  return Buffer.from(encoded, 'base64').toString('base64') === encoded;
}

/** application/x-www-form-urlencoded decoding of one value; undefined when it is malformed. */
export function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
