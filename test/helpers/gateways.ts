// Real gateways for tests (Debian's nginx and haproxy, installed by .ci/run): a deploy/ config
// rendered with this test's ports and credentials, the gateway started on loopback in the
// foreground, and a sample upstream that records what reaches it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const deployDir = fileURLToPath(new URL('../../deploy/', import.meta.url));

/** deploy/<folder>, where a config finds the files it loads (HAProxy's Lua action). */
export function deployDirectory(folder: string): string {
  return path.join(deployDir, folder);
}

/** deploy/<file> with every {{NAME}} replaced; a placeholder left over fails the test. */
export async function renderDeployFile(file: string, values: Record<string, string>): Promise<string> {
  let text = await fs.readFile(path.join(deployDir, file), 'utf8');
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`{{${name}}}`, value);
  const left = /\{\{([A-Z_]+)\}\}/.exec(text);
  assert.equal(left, null, `deploy/${file}: no value for ${left?.[1]}`);
  return text;
}

export interface SampleUpstream {
  url: string;
  port: number;
  /** The request headers of every request that reached it, in order. */
  seen: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** An upstream service that answers 200 with the Authorization header it received. */
export async function startSampleUpstream(): Promise<SampleUpstream> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ authorization: req.headers.authorization ?? null }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface RunningGateway {
  url: string;
  stateDir: string;
  stop(): Promise<void>;
}

/** Starts `command` (in the foreground) and waits until `port` answers HTTP. */
export async function startGateway(command: string, args: string[], port: number, stateDir: string): Promise<RunningGateway> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (child.exitCode !== null) break;
    const up = await fetch(`${url}/_ready`).then(
      async (response) => {
        await response.body?.cancel();
        return true;
      },
      () => false,
    );
    if (up) return { url, stateDir, stop };
    await sleep(100);
  }
  await stop();
  throw new Error(`${command} did not start on port ${port}: ${output}`);
}

/** A directory for a gateway's files; its worker processes (nginx's run as nobody under root) may enter it. */
export async function stateDirectory(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `portcullis-${prefix}-`));
  await fs.chmod(dir, 0o755);
  return dir;
}
