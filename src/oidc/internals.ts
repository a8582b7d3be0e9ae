// The one place that changes oidc-provider behaviour below its public configuration.
// Keep it small; each patch names the upstream code it replaces.
import crypto from 'node:crypto';
import type Provider from 'oidc-provider';
import { clientSecretMatches } from '../credentials/client-secrets.js';
import type { EphemeralStore } from '../stores/ephemeral/types.js';

interface PatchableClient {
  prototype: {
    compareClientSecret(this: { clientSecret?: string }, presented: string): boolean;
    includeSid(): boolean;
  };
}

interface PatchableReplayDetection {
  unique(iss: string, jti: string, exp: number): Promise<boolean>;
}

/**
 * Client secrets are stored as SHA-256 digests and handed to the library in place of the
 * secret, so the comparison must digest what the client presented.
 * Replaces lib/models/client.js `compareClientSecret` (constantEquals of the plain secret).
 */
function compareSecretsAsDigests(provider: Provider): void {
  const Client = (provider as unknown as { Client: PatchableClient }).Client;
  Client.prototype.compareClientSecret = function compareDigest(presented) {
    return clientSecretMatches(presented, this.clientSecret);
  };
}

/**
 * One-time use of client assertion and DPoP proof `jti`s across every instance, atomically.
 * Replaces lib/models/replay_detection.js `unique`, which does find() then save(): two
 * parallel requests with one assertion could both pass.
 */
function makeReplayDetectionAtomic(provider: Provider, store: EphemeralStore): void {
  const ReplayDetection = (provider as unknown as { ReplayDetection: PatchableReplayDetection }).ReplayDetection;
  ReplayDetection.unique = async (iss, jti, exp) => {
    const id = crypto.hash('sha256', `${iss}${jti}`, 'base64url');
    const ttl = Math.max(1, exp - Math.floor(Date.now() / 1000));
    return store.insertIfAbsent('ReplayDetection', id, { iss, jti: id }, ttl);
  };
}

/**
 * Every ID token carries `sid` (OpenID Connect Back-Channel Logout 1.0 §2.4 defines it), so
 * relying parties can tie a later logout to the session. The library adds it only for clients
 * registered for back-channel logout: lib/models/client.js `includeSid`.
 */
function alwaysIncludeSid(provider: Provider): void {
  const Client = (provider as unknown as { Client: PatchableClient }).Client;
  Client.prototype.includeSid = () => true;
}

export function applyProviderPatches(provider: Provider, store: EphemeralStore): void {
  compareSecretsAsDigests(provider);
  alwaysIncludeSid(provider);
  makeReplayDetectionAtomic(provider, store);
}
