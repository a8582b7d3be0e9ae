// Reads what commands take from files and stdin: JSON documents (`--json FILE|-`) and JWKS files.
import fs from 'node:fs/promises';
import { CliError } from './errors.js';

const maxInputBytes = 1024 * 1024; // far above the admin API's 64 KiB body limit

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > maxInputBytes) throw new CliError(`stdin holds more than ${maxInputBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readSource(source: string): Promise<string> {
  if (source === '-') return readStdin();
  try {
    const stat = await fs.stat(source);
    if (stat.size > maxInputBytes) throw new CliError(`${source} is larger than ${maxInputBytes} bytes`);
    return await fs.readFile(source, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** A JSON object from a file, or from stdin when the source is "-". */
export async function readJsonObject(source: string): Promise<Record<string, unknown>> {
  const name = source === '-' ? 'stdin' : source;
  let value: unknown;
  try {
    value = JSON.parse(await readSource(source));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${name} is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError(`${name} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

// Members that only private (or symmetric) JWKs have: RFC 7518 §6.2.2, §6.3.2, §6.4.1.
const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** A JWK Set from a file holding a set or a single public key; private keys are refused. */
export async function readPublicJwks(source: string): Promise<{ keys: Record<string, unknown>[] }> {
  const document = await readJsonObject(source);
  const keys = Array.isArray(document.keys) ? (document.keys as unknown[]) : [document];
  for (const key of keys) {
    if (key === null || typeof key !== 'object' || typeof (key as Record<string, unknown>).kty !== 'string') {
      throw new CliError(`${source} must hold a JWK Set or a JWK`);
    }
    const found = privateMembers.filter((member) => member in key);
    if (found.length) {
      throw new CliError(`${source} holds private key material (${found.join(', ')}): register public keys only`);
    }
  }
  return { keys: keys as Record<string, unknown>[] };
}
