// Issue #14 item 17: on Node 20, `npm test` failed with a cryptic glob message. Every entry
// point now refuses a Node older than package.json engines.node with one line naming the
// version it needs: scripts/check-node-version.cjs (run first by npm test, start, migrate and
// the build) and the CLI's own copy (src/cli/node-version.ts). Run with a real older Node where
// the machine has one (Debian's /usr/bin/node is 20), and always with this Node made to report
// an old version.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nodeVersionProblem as cliProblem, requiredNodeRange } from '../../src/cli/node-version.js';
import { freePort } from '../helpers/server.js';
import { waitForExit } from '../helpers/http-support.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const checkScript = path.join(repoRoot, 'scripts', 'check-node-version.cjs');
const { nodeVersionProblem: scriptProblem } = createRequire(import.meta.url)(checkScript) as {
  nodeVersionProblem(version: string, range: string): string | null;
};
const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  engines: { node: string };
  scripts: Record<string, string>;
};
const required = manifest.engines.node;
const requiredMajor = Number(/\d+/.exec(required)![0]);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const { code } = await waitForExit(child, 90_000);
  return { code, stdout, stderr };
}

/** Node binaries on this machine older than engines.node (each directory of PATH, and /usr/bin). */
function olderNodes(): { binary: string; version: string }[] {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/local/bin'];
  const found = new Map<string, string>();
  for (const dir of dirs) {
    const binary = path.join(dir, 'node');
    if (!dir || !fs.existsSync(binary)) continue;
    const real = fs.realpathSync(binary);
    if ([...found.keys()].some((known) => fs.realpathSync(known) === real)) continue;
    const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
    if (Number(/^v(\d+)/.exec(version)?.[1]) < requiredMajor) found.set(binary, version);
  }
  return [...found].map(([binary, version]) => ({ binary, version }));
}

function assertRefusal(result: Run, version: string, what: string): void {
  assert.equal(result.code === 0, false, `${what} must fail`);
  const ours = result.stderr.split('\n').filter((line) => line.includes('is required'));
  assert.equal(ours.length, 1, `${what}: one line naming the version:\n${result.stderr}`);
  assert.ok(ours[0]!.includes(`Node.js ${required} is required; this is Node.js ${version}`), ours[0]);
}

describe('an older Node is refused in one line', () => {
  it('the script and the CLI read engines.node alike and agree on every version', () => {
    assert.equal(requiredNodeRange(), required);
    const cases: [string, string, boolean][] = [
      ['v20.20.2', '>=22', false],
      ['v21.99.0', '>=22', false],
      ['v22.0.0', '>=22', true],
      ['v24.21.0', '>=22', true],
      ['v100.0.0', '>=22', true],
      ['v22.11.9', '>=22.12', false],
      ['v22.12.0', '>=22.12.0', true],
      ['v23.0.0', '>=22.12', true],
    ];
    for (const [version, range, ok] of cases) {
      const fromScript = scriptProblem(version, range);
      const fromCli = cliProblem(version, range);
      assert.equal(fromScript === null, ok, `${version} against ${range}: ${fromScript}`);
      assert.equal(fromCli ?? null, fromScript, 'the same words from both');
    }
    // A range the check cannot read is a mistake to stop on, not a pass.
    assert.match(scriptProblem('v24.0.0', '^22 || ^24')!, /engines\.node must have the form/);
    assert.match(cliProblem('v24.0.0', '^22 || ^24')!, /engines\.node must have the form/);
  });

  it('npm test, start, migrate and build run the check first', () => {
    const check = 'node scripts/check-node-version.cjs';
    assert.equal(manifest.scripts.pretest, check);
    for (const name of ['prestart', 'migrate', 'build']) {
      assert.ok(manifest.scripts[name]!.startsWith(`${check} && `), `${name}: ${manifest.scripts[name]}`);
    }
  });

  it('this Node passes the check silently', async () => {
    const result = await run(process.execPath, [checkScript], { PATH: process.env.PATH ?? '' });
    assert.deepEqual(result, { code: 0, stdout: '', stderr: '' });
  });

  it('this Node, made to report v20.20.2, is refused by the script and by the CLI', async () => {
    // A preload that only changes what process.version says, before anything else runs.
    const preload = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'portcullis-node-version-')), 'old.cjs');
    fs.writeFileSync(preload, "Object.defineProperty(process, 'version', { value: 'v20.20.2' });\n");
    try {
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
      assertRefusal(await run(process.execPath, ['--require', preload, checkScript], env), 'v20.20.2', 'the script');
      const cli = await run(process.execPath, ['--require', preload, '--import', 'tsx', 'src/cli/main.ts', '--help'], env);
      assertRefusal(cli, 'v20.20.2', 'the CLI');
      assert.equal(cli.stdout, '', 'the CLI did nothing else');
    } finally {
      fs.rmSync(path.dirname(preload), { recursive: true, force: true });
    }
  });

  it('regression: on Node 20 npm test failed with a cryptic glob message — a real older Node gets one clear line from every entry point', async (t) => {
    const nodes = olderNodes();
    for (const { binary, version } of nodes) {
      // PATH with the old node first: what a machine whose `node` is that version runs.
      const env = { PATH: [path.dirname(binary), process.env.PATH].join(path.delimiter), HOME: process.env.HOME ?? '' };
      assertRefusal(await run(binary, [checkScript], env), version, `${binary} scripts/check-node-version.cjs`);
      assertRefusal(await run(binary, ['--import', 'tsx', 'src/cli/main.ts', '--help'], env), version, `${binary} CLI`);
      const npmCli = path.join(path.dirname(binary), 'npm');
      if (!fs.existsSync(npmCli)) continue;
      // A free PORT, should `npm start` ever get past its check.
      const npmEnv = { ...env, PORT: String(await freePort()), DATA_DIR: os.tmpdir() };
      for (const script of [['test'], ['start'], ['run', 'migrate']]) {
        assertRefusal(await run(npmCli, script, npmEnv), version, `npm ${script.join(' ')} on ${version}`);
      }
    }
    // Where the machine has no older Node, the test above (this Node reporting v20) stands in.
    t.diagnostic(nodes.length ? `older Node: ${nodes.map((node) => `${node.binary} ${node.version}`).join(', ')}` : 'no older Node here');
  });
});
