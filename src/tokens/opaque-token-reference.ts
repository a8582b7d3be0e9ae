// How revocation state names an opaque access token: its value is the bearer credential itself
// (oidc-provider's opaque format uses the value as the record id), so it may appear neither in
// the revocation feed nor in the `exchanged_from` of a token exchanged from it. A SHA-256
// digest names it without granting anything.
import crypto from 'node:crypto';

export function opaqueTokenReference(value: string): string {
  return `sha256:${crypto.createHash('sha256').update(value).digest('base64url')}`;
}
