// Access tokens whose signature we have already checked, by their exact compact serialisation.
// A resource server introspects the same token on every request it serves, and a service
// exchanges one incoming token for several downstream APIs, so the same string comes back many
// times in its short life. An ES256 verification costs ~130 µs of CPU; a lookup costs nothing.
//
// What is remembered is only "this exact string carries a valid signature by a key we publish
// and these claims". Expiry is checked on every hit, and revocation is never remembered here:
// callers consult the revocation store on every use (RFC 7009 §2, RFC 7662 §2.2).
// One memo belongs to one published key set; when a key leaves the JWKS the memo goes with it.
import type { AccessTokenClaims } from './claims.js';

export class VerifiedTokens {
  readonly #entries = new Map<string, AccessTokenClaims>();

  constructor(private readonly capacity: number) {}

  /** The claims of a token verified before, or undefined. Expired entries are dropped. */
  get(token: string, nowSeconds: number, clockTolerance: number): AccessTokenClaims | undefined {
    const claims = this.#entries.get(token);
    if (!claims) return undefined;
    // The same test jose applies (RFC 7519 §4.1.4): expired once now - tolerance >= exp.
    if (nowSeconds - clockTolerance >= claims.exp) {
      this.#entries.delete(token);
      return undefined;
    }
    return claims;
  }

  remember(token: string, claims: AccessTokenClaims): void {
    if (this.#entries.size >= this.capacity) {
      // Oldest first (a Map iterates in insertion order): tokens are short-lived, so the oldest
      // entry is the one nearest its expiry.
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, claims);
  }

  get size(): number {
    return this.#entries.size;
  }
}
