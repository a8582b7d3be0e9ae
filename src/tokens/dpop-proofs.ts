// DPoP proofs (RFC 9449) as the server takes them, wherever one arrives: the token endpoint and
// pushed authorization requests (oidc/dpop-gate.ts, in front of the library and of the fast
// paths), userinfo, and our own APIs (bearer-auth.ts). One rule for the proof itself
// (src/verify/dpop-proof.ts, which APIs use too), and one replay store for every instance.
//
// Replay (§11.1): each proof's `jti` is spent once, atomically, in the shared one-time store,
// keyed by the proof's key and `jti`, and kept for as long as the proof could be accepted. A proof
// that may have been used before the store's markers began (Redis lost its data) is refused: one
// whose `iat` second ended before the markers began (the rule client assertions follow,
// oidc/assertion-replay.ts, so a proof made in the second of a restart is accepted). What that
// admits: a proof first used in the part of a second before a loss, or by a client whose clock runs
// ahead (we accept `iat` up to `clockTolerance` in the future), used again after the loss.
import crypto from 'node:crypto';
import type { EphemeralStore } from '../stores/ephemeral/types.js';
import {
  dpopProofMaxAgeSeconds,
  verifyDpopProof,
  type DpopNonces,
  type DpopProofCheck,
  type VerifiedDpopProof,
} from '../verify/dpop-proof.js';

export interface DpopNonceIssuer extends DpopNonces {
  /** The nonce to give a client now (`DPoP-Nonce`, §8.1). */
  next(): string;
}

export interface DpopProofsDeps {
  store: EphemeralStore;
  nonces: DpopNonceIssuer;
  clockTolerance: number;
}

export interface DpopRequest {
  /** Every `DPoP` header value of the request. */
  proofs: readonly string[];
  method: string;
  /** The URL the proof must name (`htu`): the endpoint's own, as the issuer publishes it. */
  url: string;
  accessToken?: string | undefined;
}

export type DpopOutcome =
  | { ok: true; proof: VerifiedDpopProof; /** A fresh nonce to send along, when the proof's is not the newest. */ nonce?: string | undefined }
  | {
      ok: false;
      /** §7.1 / §5: `invalid_dpop_proof`, or `use_dpop_nonce` with `nonce` to retry with (§8). */
      error: 'invalid_dpop_proof' | 'use_dpop_nonce';
      description: string;
      check: DpopProofCheck | 'replay';
      nonce?: string | undefined;
    };

const provenProofs = new WeakMap<object, VerifiedDpopProof>();

/** Remembers the proof a request carried once it is accepted and spent (the gate: oidc/dpop-gate.ts). */
export function rememberDpopProof(request: object, proof: VerifiedDpopProof): void {
  provenProofs.set(request, proof);
}

/** The DPoP proof this request (node's IncomingMessage) carried and the gate accepted, if any. */
export function dpopProofOf(request: object): VerifiedDpopProof | undefined {
  return provenProofs.get(request);
}

/** The DPoP headers of a request, each as sent (Node joins repeated unknown headers into one). */
export function dpopHeaders(rawHeaders: readonly string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'dpop') values.push(rawHeaders[i + 1]!);
  }
  return values;
}

export function createDpopProofs(deps: DpopProofsDeps) {
  const { store, nonces, clockTolerance } = deps;
  const policy = { clockTolerance, nonces };

  /** Checks the request's one proof and spends its `jti`; only a request with a proof asks. */
  return async function takeDpopProof(request: DpopRequest): Promise<DpopOutcome> {
    const verified = await verifyDpopProof(request, policy);
    if (!verified.ok) {
      return {
        ok: false,
        error: verified.useNonce ? 'use_dpop_nonce' : 'invalid_dpop_proof',
        description: verified.description,
        check: verified.check,
        nonce: verified.useNonce ? nonces.next() : undefined,
      };
    }
    const now = Math.floor(Date.now() / 1000);
    // Acceptable until its `iat` is too old (src/verify/dpop-proof.ts), nonce or not.
    const keptFor = Math.max(1, Math.ceil(verified.iat) + dpopProofMaxAgeSeconds - now + clockTolerance);
    const id = crypto.hash('sha256', JSON.stringify([verified.jkt, verified.jti]), 'base64url');
    const use = await store.consumeOnce('DPoPProof', id, keptFor, Math.floor(verified.iat) * 1000 + 999);
    if (use !== 'consumed') {
      return {
        ok: false,
        error: 'invalid_dpop_proof',
        check: 'replay',
        description:
          use === 'replayed'
            ? 'the DPoP proof has been used already: send a new proof with each request'
            : 'the DPoP proof may have been used before this server lost its replay state: send a new proof',
      };
    }
    const current = nonces.next();
    return { ok: true, proof: verified, nonce: verified.nonce === current ? undefined : current };
  };
}

export type TakeDpopProof = ReturnType<typeof createDpopProofs>;
