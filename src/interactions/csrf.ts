// CSRF tokens for the interaction forms: an HMAC of the interaction's uid under the first cookie
// key. The interaction cookie is SameSite=Lax and signed, so a cross-site POST has neither the
// cookie nor a token it could compute; the token also stops a same-site attacker who lacks it.
import crypto from 'node:crypto';

export function createCsrf(secret: string) {
  const tokenFor = (uid: string): string =>
    crypto.createHmac('sha256', secret).update(`interaction-csrf:${uid}`).digest('base64url');
  return {
    tokenFor,
    isValid(uid: string, presented: string | undefined): boolean {
      if (!presented) return false;
      const expected = Buffer.from(tokenFor(uid));
      const actual = Buffer.from(presented);
      return expected.length === actual.length && crypto.timingSafeEqual(expected, actual);
    },
  };
}

export type Csrf = ReturnType<typeof createCsrf>;
