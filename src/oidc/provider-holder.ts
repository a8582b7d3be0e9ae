// The provider in force. oidc-provider takes its signing keys at construction and cannot swap
// them, so when the key phase changes (a rotation's new key starts signing, an old key leaves
// the JWKS) we construct a new provider and route new requests to it. Requests in flight finish
// on the old one; nothing else is lost, as all state lives in the stores.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { KeyRing } from '../keys/key-ring.js';
import type { KeyPhase } from '../keys/key-schedule.js';

export interface ProviderHolder {
  /** Serves a request with the provider in force (our own routes run inside it: app.ts). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function holdProvider(build: (phase: KeyPhase) => Provider, keyRing: KeyRing): ProviderHolder {
  let callback = build(keyRing.current()).callback();
  keyRing.onChange((phase) => {
    callback = build(phase).callback();
  });
  return {
    handle: (req, res) => callback(req, res),
  };
}
