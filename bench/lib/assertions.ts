// private_key_jwt client assertions (RFC 7523 §3), each with a unique `jti`. They are signed
// before a measured run, in worker threads on every core, so signing does not compete with the
// server for CPU while it is measured; a run that uses up its pool signs the rest inline and
// says how many (that part of the run did throttle the load generator).
import crypto from 'node:crypto';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AssertionKey } from './fixtures.js';

export interface AssertionClaims {
  clientId: string;
  audience: string;
  /** Seconds the assertion is valid for (Portcullis allows at most 300). */
  lifetime: number;
}

// Worker source (plain JavaScript, evaluated): signs `count` assertions and posts them back.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const { pem, kid, clientId, audience, lifetime, count } = workerData;
const key = crypto.createPrivateKey(pem);
const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid, typ: 'JWT' })).toString('base64url');
const out = new Array(count);
const now = Math.floor(Date.now() / 1000);
for (let i = 0; i < count; i++) {
  const payload = Buffer.from(JSON.stringify({
    iss: clientId, sub: clientId, aud: audience, jti: crypto.randomBytes(16).toString('base64url'), iat: now, exp: now + lifetime,
  })).toString('base64url');
  const input = header + '.' + payload;
  out[i] = input + '.' + crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}
parentPort.postMessage(out);
`;

export function signAssertion(key: AssertionKey, claims: AssertionClaims, privateKey = crypto.createPrivateKey(key.privateKeyPem)): string {
  const now = Math.floor(Date.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: key.kid, typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(
    JSON.stringify({
      iss: claims.clientId,
      sub: claims.clientId,
      aud: claims.audience,
      jti: crypto.randomBytes(16).toString('base64url'),
      iat: now,
      exp: now + claims.lifetime,
    }),
  ).toString('base64url');
  const input = `${header}.${payload}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** `count` fresh assertions, signed on all cores; resolves with them and the signing rate. */
export async function signAssertions(
  key: AssertionKey,
  claims: AssertionClaims,
  count: number,
): Promise<{ assertions: string[]; perSecond: number }> {
  const started = performance.now();
  const workers = Math.max(1, Math.min(os.availableParallelism(), Math.ceil(count / 2_000)));
  const share = Math.ceil(count / workers);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, index) => {
      const n = Math.max(0, Math.min(share, count - index * share));
      return new Promise<string[]>((resolve, reject) => {
        const worker = new Worker(workerSource, {
          eval: true,
          workerData: { pem: key.privateKeyPem, kid: key.kid, ...claims, count: n },
        });
        worker.once('message', (value: string[]) => {
          resolve(value);
          void worker.terminate();
        });
        worker.once('error', reject);
      });
    }),
  );
  const assertions = parts.flat();
  return { assertions, perSecond: assertions.length / ((performance.now() - started) / 1000) };
}

/** A pool that hands out each assertion once, and signs inline (counted) when it runs dry. */
export class AssertionPool {
  #next = 0;
  #inline = 0;
  readonly #privateKey: crypto.KeyObject;

  constructor(
    private readonly assertions: string[],
    private readonly key: AssertionKey,
    private readonly claims: AssertionClaims,
  ) {
    this.#privateKey = crypto.createPrivateKey(key.privateKeyPem);
  }

  take(): string {
    if (this.#next < this.assertions.length) return this.assertions[this.#next++]!;
    this.#inline += 1;
    return signAssertion(this.key, this.claims, this.#privateKey);
  }

  get used(): number {
    return this.#next + this.#inline;
  }

  /** How many had to be signed during the measured run. */
  get signedInline(): number {
    return this.#inline;
  }
}

// DPoP proofs (RFC 9449 §4.2) for one key and one token endpoint, each with a unique `jti`,
// signed before the measured run like the assertions above.
const dpopWorkerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const { pem, htu, count } = workerData;
const key = crypto.createPrivateKey(pem);
const { kty, crv, x, y } = crypto.createPublicKey(key).export({ format: 'jwk' });
const header = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })).toString('base64url');
const out = new Array(count);
const now = Math.floor(Date.now() / 1000);
for (let i = 0; i < count; i++) {
  const payload = Buffer.from(JSON.stringify({ htm: 'POST', htu, iat: now, jti: crypto.randomBytes(16).toString('base64url') })).toString('base64url');
  const input = header + '.' + payload;
  out[i] = input + '.' + crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}
parentPort.postMessage(out);
`;

function signProofsInWorkers(pem: string, htu: string, count: number): Promise<string[]> {
  const workers = Math.max(1, Math.min(os.availableParallelism(), Math.ceil(count / 2_000)));
  const share = Math.ceil(count / workers);
  return Promise.all(
    Array.from({ length: workers }, (_, index) => {
      const n = Math.max(0, Math.min(share, count - index * share));
      return new Promise<string[]>((resolve, reject) => {
        const worker = new Worker(dpopWorkerSource, { eval: true, workerData: { pem, htu, count: n } });
        worker.once('message', (value: string[]) => {
          resolve(value);
          void worker.terminate();
        });
        worker.once('error', reject);
      });
    }),
  ).then((parts) => parts.flat());
}

/** A pool of fresh DPoP proofs for `htu`, each handed out once; it signs inline (counted) when it runs dry. */
export class DpopProofPool {
  #next = 0;
  #inline = 0;

  private constructor(
    private readonly proofs: string[],
    private readonly pem: string,
    private readonly htu: string,
    readonly signRate: number,
  ) {}

  static async create(key: AssertionKey, htu: string, count: number): Promise<DpopProofPool> {
    const started = performance.now();
    const proofs = await signProofsInWorkers(key.privateKeyPem, htu, count);
    return new DpopProofPool(proofs, key.privateKeyPem, htu, proofs.length / ((performance.now() - started) / 1000));
  }

  get size(): number {
    return this.proofs.length;
  }

  take(): string {
    if (this.#next < this.proofs.length) return this.proofs[this.#next++]!;
    this.#inline += 1;
    const key = crypto.createPrivateKey(this.pem);
    const { kty, crv, x, y } = crypto.createPublicKey(key).export({ format: 'jwk' });
    const header = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ htm: 'POST', htu: this.htu, iat: Math.floor(Date.now() / 1000), jti: crypto.randomBytes(16).toString('base64url') }),
    ).toString('base64url');
    const input = `${header}.${payload}`;
    return `${input}.${crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  }

  get signedInline(): number {
    return this.#inline;
  }
}
