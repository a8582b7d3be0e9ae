// The DPoP proof rule (src/verify/dpop-proof.ts, keys in proof-keys.ts), on its own: proofs by
// every accepted algorithm verify and name their key's RFC 7638 thumbprint (as jose computes it);
// a key that does not fit its algorithm, a crit header, a short RSA key or a jwk that says another
// alg are refused with the check that failed.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { verifyDpopProof } from '../../src/verify/dpop-proof.js';

const htu = 'https://id.example.test/token';
const policy = { clockTolerance: 5 };

async function proofWith(alg: string, options: { keyAlg?: string; header?: Record<string, unknown>; keyOptions?: Record<string, unknown> } = {}) {
  const { privateKey, publicKey } = await generateKeyPair(options.keyAlg ?? alg, { extractable: true, ...options.keyOptions });
  const jwk = await exportJWK(publicKey);
  const signingKey = options.keyAlg ? (await generateKeyPair(alg, { extractable: true })).privateKey : privateKey;
  const proof = await new SignJWT({ htm: 'POST', htu, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID() })
    .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk, ...options.header })
    .sign(signingKey);
  return { proof, jwk };
}

/** A proof signed with node:crypto, for what jose refuses to sign (a crit it does not know, a short RSA key). */
function handSigned(alg: 'ES256' | 'RS256', pair: crypto.KeyPairKeyObjectResult, header: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg, typ: 'dpop+jwt', jwk: pair.publicKey.export({ format: 'jwk' }), ...header })}.${encode({ htm: 'POST', htu, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID() })}`;
  const signature = crypto.sign('sha256', Buffer.from(input), alg === 'ES256' ? { key: pair.privateKey, dsaEncoding: 'ieee-p1363' } : pair.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

const check = (proof: string) => verifyDpopProof({ proofs: [proof], method: 'POST', url: htu }, policy);

describe('verifyDpopProof: keys and algorithms', () => {
  for (const alg of ['ES256', 'ES384', 'ES512', 'PS256', 'RS256', 'Ed25519']) {
    it(`${alg}: verifies and names the key's thumbprint`, async () => {
      const { proof, jwk } = await proofWith(alg);
      const result = await check(proof);
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.jkt, await calculateJwkThumbprint(jwk, 'sha256'));
    });
  }

  it('refuses a key that does not fit the algorithm, a short RSA key, a crit header and a jwk naming another alg', async () => {
    const cases: [string, string, RegExp][] = [
      ['P-384 key for ES256', (await proofWith('ES256', { keyAlg: 'ES384' })).proof, /P-256/],
      ['1024-bit RSA', handSigned('RS256', crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }), {}), /2048/],
      ['crit', handSigned('ES256', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }), { crit: ['exp'], exp: 1 }), /crit/],
    ];
    for (const [name, proof, reason] of cases) {
      const result = await check(proof);
      assert.equal(result.ok, false, name);
      if (!result.ok) assert.match(result.description, reason, name);
    }
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), alg: 'ES384' };
    const mislabelled = await new SignJWT({ htm: 'POST', htu, iat: Math.floor(Date.now() / 1000), jti: 'x' })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
      .sign(privateKey);
    const result = await check(mislabelled);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.check, 'jwk');
  });

  it('a signature by another key of the same kind is refused as a signature failure', async () => {
    const { proof } = await proofWith('ES256');
    const other = await proofWith('ES256');
    const [header] = other.proof.split('.');
    const [, payload, signature] = proof.split('.');
    const result = await check(`${header}.${payload}.${signature}`);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.check, 'signature');
  });
});
