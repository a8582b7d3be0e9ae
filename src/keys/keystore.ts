// Signing keys and cookie keys kept in KEYS_DIR. On first start we generate an RS256 key
// (OIDC Core §15.1: RS256 must be supported for ID tokens) and an ES256 key (our access-token
// signer); restarts reuse them. Files are written 0600 and created atomically (write a temp file,
// then link it into place), so instances sharing one volume and starting together agree.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { StartupError, describeFileError } from '../startup-error.js';

export interface SigningKey extends JWK {
  kid: string;
  alg: 'RS256' | 'ES256';
  use: 'sig';
}

export interface KeyMaterial {
  /** Private JWKs for oidc-provider, RS256 first (the default ID token signer). */
  readonly signingKeys: readonly SigningKey[];
  /** Cookie signing keys (newest first). */
  readonly cookieKeys: readonly string[];
  /** 32 bytes that encrypt secrets at rest (TOTP seeds). */
  readonly dataKey: Buffer;
  /**
   * 32 bytes behind the DPoP server nonces (RFC 9449 §8), derived from the newest cookie key: every
   * instance shares the cookie keys, so they agree on nonces, and rotating the cookie keys rotates it.
   */
  readonly dpopNonceSecret: Buffer;
}

const privateFields = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

export function toPublicJwk(key: JWK): JWK {
  const copy: JWK = { ...key };
  for (const field of privateFields) delete copy[field];
  return copy;
}

export async function generateSigningKey(alg: SigningKey['alg']): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
  });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { ...jwk, kid, alg, use: 'sig' };
}

/** Creates file with content unless it exists; returns what the file holds afterwards. */
async function createOnce(file: string, content: () => Promise<string>): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const temp = `${file}.${process.pid}.${crypto.randomUUID()}.tmp`;
  await fs.writeFile(temp, await content(), { mode: 0o600, flag: 'wx' });
  try {
    await fs.link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await fs.unlink(temp);
  }
  return fs.readFile(file, 'utf8');
}

/** The name an operator knows a key file by: "KEYS_DIR/cookie-keys.json". */
function settingOf(file: string): string {
  return `KEYS_DIR/${path.basename(file)}`;
}

/** A key file that is wrong: no restart fixes it, someone must repair or remove the file. */
function badKeyFile(file: string, problem: string, cause?: unknown): StartupError {
  return new StartupError(settingOf(file), problem, { retryable: false, cause });
}

function parseSigningKeys(file: string, text: string): SigningKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw badKeyFile(file, 'not valid JSON', error);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw badKeyFile(file, 'must hold {"keys": [...]}');
  for (const key of keys as SigningKey[]) {
    if (typeof key?.kid !== 'string' || (key.alg !== 'RS256' && key.alg !== 'ES256') || typeof key.d !== 'string') {
      throw badKeyFile(file, 'every key needs a kid, alg RS256 or ES256 and its private part');
    }
    const useFrom = (key as { use_from?: unknown }).use_from;
    if (useFrom !== undefined && (typeof useFrom !== 'number' || !Number.isInteger(useFrom))) {
      throw badKeyFile(file, 'use_from must be a whole number of seconds since the epoch');
    }
  }
  // RS256 signs ID tokens (OIDC Core §15.1), ES256 signs access tokens: both must be there.
  for (const alg of ['RS256', 'ES256']) {
    if (!keys.some((key: SigningKey) => key.alg === alg)) throw badKeyFile(file, `an ${alg} key is required`);
  }
  return keys as SigningKey[];
}

function parseCookieKeys(file: string, text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw badKeyFile(file, 'not valid JSON', error);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.some((key) => typeof key !== 'string')) {
    throw badKeyFile(file, 'must hold a JSON array of strings');
  }
  return parsed as string[];
}

/** RFC 5869 HKDF-SHA256 of the newest cookie key, for this one use only (its own `info`). */
function dpopNonceSecretOf(cookieKey: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', cookieKey, 'portcullis', 'DPoP server nonces', 32));
}

/** createOnce, with a file-system failure (permissions, a full disk) told as one line naming the file. */
async function createKeyFileOnce(file: string, content: () => Promise<string>): Promise<string> {
  try {
    return await createOnce(file, content);
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    throw new StartupError(settingOf(file), describeFileError(error), { retryable: code === 'EMFILE' || code === 'EAGAIN', cause: error });
  }
}

function signingKeysFile(keysDir: string): string {
  return path.join(keysDir, 'signing-keys.json');
}

/** Replaces the signing key file atomically (temp file, then rename), mode 0600. */
export async function writeSigningKeys(keysDir: string, keys: readonly SigningKey[]): Promise<void> {
  const file = signingKeysFile(keysDir);
  const temp = `${file}.${process.pid}.${crypto.randomUUID()}.tmp`;
  await fs.writeFile(temp, JSON.stringify({ keys }, null, 2), { mode: 0o600, flag: 'wx' });
  await fs.rename(temp, file);
}

export async function readSigningKeys(keysDir: string): Promise<SigningKey[]> {
  const file = signingKeysFile(keysDir);
  return parseSigningKeys(file, await fs.readFile(file, 'utf8'));
}

export async function loadKeyMaterial(options: { keysDir: string; cookieKeys?: readonly string[] | undefined }): Promise<KeyMaterial> {
  await fs.mkdir(options.keysDir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    throw new StartupError('KEYS_DIR', `${options.keysDir}: ${describeFileError(error)}`, { retryable: false, cause: error });
  });
  const signingFile = signingKeysFile(options.keysDir);
  const signingText = await createKeyFileOnce(signingFile, async () =>
    JSON.stringify({ keys: [await generateSigningKey('RS256'), await generateSigningKey('ES256')] }, null, 2),
  );
  const signingKeys = parseSigningKeys(signingFile, signingText);
  // RS256 first: oidc-provider signs ID tokens with the first key matching the client's alg.
  signingKeys.sort((a, b) => (a.alg === b.alg ? 0 : a.alg === 'RS256' ? -1 : 1));

  let cookieKeys = options.cookieKeys;
  if (!cookieKeys) {
    const cookieFile = path.join(options.keysDir, 'cookie-keys.json');
    const text = await createKeyFileOnce(cookieFile, async () => JSON.stringify([crypto.randomBytes(32).toString('base64url')]));
    cookieKeys = parseCookieKeys(cookieFile, text);
  }
  const dataKeyFile = path.join(options.keysDir, 'data-key');
  const dataKey = Buffer.from(
    (await createKeyFileOnce(dataKeyFile, async () => crypto.randomBytes(32).toString('base64url'))).trim(),
    'base64url',
  );
  if (dataKey.length !== 32) throw badKeyFile(dataKeyFile, 'must hold 32 bytes, base64url');
  return Object.freeze({
    signingKeys: Object.freeze(signingKeys),
    cookieKeys: Object.freeze([...cookieKeys]),
    dataKey,
    dpopNonceSecret: dpopNonceSecretOf(cookieKeys[0]!),
  });
}
