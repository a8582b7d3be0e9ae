// Signatures of the provider's cookies (session, interaction): what Koa's `cookies` package does
// with an array of keys (keygrip: HMAC-SHA1 of "name=value", base64url without padding, the
// first key signs, any key verifies), so cookies signed before stay valid, but cheaper: the keys
// become KeyObjects once, and a signature is compared with crypto.timingSafeEqual instead of
// tsscmp's two extra HMACs. Every browser request verifies several signed cookies, so this is a
// visible share of a login's CPU. oidc-provider takes it as `cookies.keys` (a Keygrip-like
// object is allowed there: oidc-provider/lib/provider.js).
import crypto from 'node:crypto';
import type { Configuration } from 'oidc-provider';

export interface CookieSigner {
  sign(data: string): string;
  verify(data: string, digest: string): boolean;
  index(data: string, digest: string): number;
}

export function createCookieSigner(keys: readonly string[]): CookieSigner {
  if (keys.length === 0) throw new Error('at least one cookie key is needed');
  const secretKeys = keys.map((key) => crypto.createSecretKey(Buffer.from(key, 'utf8')));
  const signWith = (key: crypto.KeyObject, data: string): string => crypto.createHmac('sha1', key).update(data).digest('base64url');
  const index = (data: string, digest: string): number => {
    const presented = Buffer.from(digest);
    for (const [position, key] of secretKeys.entries()) {
      const expected = Buffer.from(signWith(key, data));
      if (expected.length === presented.length && crypto.timingSafeEqual(expected, presented)) return position;
    }
    return -1;
  };
  return {
    sign: (data) => signWith(secretKeys[0]!, data),
    verify: (data, digest) => index(data, digest) !== -1,
    index,
  };
}

/** The provider's cookies: signed with our keys, never readable by scripts, sent on top-level navigations. */
export function cookieConfiguration(keys: readonly string[]) {
  return {
    keys: createCookieSigner(keys),
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  } satisfies Configuration['cookies'];
}
