// What the numbers were measured on: the machine, Node, the libraries, the stores, the code.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  loadAverage: number[];
  node: string;
  libraries: Record<string, string>;
  git: { commit: string; dirty: boolean } | undefined;
}

const libraries = ['oidc-provider', 'koa', 'jose', 'ioredis', 'pg', '@electric-sql/pglite', 'argon2', 'autocannon'];

function packageVersion(repoRoot: string, name: string): string {
  try {
    const file = path.join(repoRoot, 'node_modules', name, 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function gitState(repoRoot: string): MachineInfo['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'views', 'migrations'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return undefined;
  }
}

export function describeMachine(repoRoot: string): MachineInfo {
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
    node: process.version,
    libraries: Object.fromEntries(libraries.map((name) => [name, packageVersion(repoRoot, name)])),
    git: gitState(repoRoot),
  };
}
