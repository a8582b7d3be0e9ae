// Client secrets are generated here (256 bits from the CSPRNG), shown once, and stored as a
// SHA-256 digest. A slow hash buys nothing for a random 256-bit secret (there is nothing to
// brute-force) and would cap token throughput, so a plain digest compared in constant time it is.
import crypto from 'node:crypto';

export function generateClientSecret(): string {
  return crypto.randomBytes(32).toString('base64url');
}

export function digestClientSecret(secret: string): string {
  return crypto.hash('sha256', secret, 'hex');
}

/** Constant-time comparison of a presented secret against a stored digest. */
export function clientSecretMatches(presented: string, storedDigest: string | undefined): boolean {
  if (!storedDigest) return false;
  // A hex digest is the quickest form crypto.hash produces; both sides compare as bytes.
  const presentedDigest = Buffer.from(crypto.hash('sha256', presented, 'hex'), 'hex');
  const stored = Buffer.from(storedDigest, 'hex');
  return stored.length === presentedDigest.length && crypto.timingSafeEqual(stored, presentedDigest);
}

export function generateClientId(): string {
  return crypto.randomBytes(16).toString('base64url');
}
