// scripts/build.mjs (issue #14 item 15): `npx portcullis` failed with "Permission denied" on a
// fresh clone (tsc writes dist/cli/main.js 0644), and every `npm start` ran the whole tsc build.
// The script is run here on a small project of its own (a copy of the script, two sources, the
// repository's node_modules) so that each case can change sources and outputs freely; the last
// test checks that the repository is wired to it the same way.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitForExit } from '../helpers/http-support.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  const child = spawn(command, args, { cwd, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return waitForExit(child, 110_000).then(({ code }) => ({ code, stdout, stderr }));
}

describe('scripts/build.mjs', () => {
  let project: string;
  const file = (relative: string) => path.join(project, relative);
  const build = () => run(process.execPath, ['scripts/build.mjs'], project);

  async function built(): Promise<string> {
    const result = await build();
    assert.equal(result.code, 0, result.stderr);
    return result.stderr;
  }

  before(async () => {
    project = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-build-'));
    await fs.mkdir(file('scripts'));
    await fs.copyFile(path.join(repoRoot, 'scripts', 'build.mjs'), file('scripts/build.mjs'));
    await fs.symlink(path.join(repoRoot, 'node_modules'), file('node_modules'), 'dir');
    await fs.writeFile(
      file('package.json'),
      JSON.stringify({ name: 'build-test', type: 'module', bin: { 'build-test': 'dist/cli/main.js' } }),
    );
    const compilerOptions = { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: [] };
    await fs.writeFile(file('tsconfig.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, noEmit: true } }));
    // As in the repository's tsconfig.build.json: incremental state inside dist/.
    await fs.writeFile(
      file('tsconfig.build.json'),
      JSON.stringify({
        extends: './tsconfig.json',
        compilerOptions: {
          rootDir: 'src',
          outDir: 'dist',
          noEmit: false,
          declaration: true,
          sourceMap: true,
          incremental: true,
          tsBuildInfoFile: 'dist/.tsbuildinfo',
        },
        include: ['src'],
      }),
    );
    await fs.mkdir(file('src/cli'), { recursive: true });
    await fs.writeFile(file('src/greeting.ts'), "export const greeting = 'hello';\n");
    await fs.writeFile(
      file('src/cli/main.ts'),
      "#!/usr/bin/env node\nimport { greeting } from '../greeting.js';\nconsole.log(greeting);\n",
    );
  });

  after(async () => {
    if (project) await fs.rm(project, { recursive: true, force: true });
  });

  it('regression: npx portcullis said Permission denied on a fresh clone — the built bin is executable and runs', async () => {
    assert.match(await built(), /building dist\/ \(no earlier build\)[\s\S]*built dist\/ in/);
    const mode = (await fs.stat(file('dist/cli/main.js'))).mode;
    assert.equal(mode & 0o111, 0o111, `mode ${mode.toString(8)}`);
    const direct = await run(file('dist/cli/main.js'), [], project);
    assert.deepEqual(direct, { code: 0, stdout: 'hello\n', stderr: '' });
  });

  it('regression: every npm start ran the whole build — with nothing changed it does not run tsc', async () => {
    const before = await fs.stat(file('dist/greeting.js'));
    assert.equal(await built(), 'portcullis: dist/ is up to date\n');
    const quiet = await run(process.execPath, ['scripts/build.mjs', '--quiet'], project);
    assert.deepEqual(quiet, { code: 0, stdout: '', stderr: '' });
    assert.equal((await fs.stat(file('dist/greeting.js'))).mtimeMs, before.mtimeMs, 'nothing was written');

    // An executable bit lost since (a checkout tool, a copy) comes back without a build.
    await fs.chmod(file('dist/cli/main.js'), 0o644);
    assert.equal(await built(), 'portcullis: dist/ is up to date\n');
    assert.equal((await fs.stat(file('dist/cli/main.js'))).mode & 0o111, 0o111);
  });

  it('judges by content: an edit dated before the last build still rebuilds, a touch alone does not', async () => {
    await fs.writeFile(file('src/greeting.ts'), "export const greeting = 'hello again';\n");
    const past = new Date(Date.now() - 86_400_000);
    await fs.utimes(file('src/greeting.ts'), past, past);
    assert.match(await built(), /building dist\/ \(changed: src\/greeting\.ts\)/);
    assert.equal((await run(file('dist/cli/main.js'), [], project)).stdout, 'hello again\n');

    const now = new Date();
    await fs.utimes(file('src/greeting.ts'), now, now);
    assert.equal(await built(), 'portcullis: dist/ is up to date\n');
  });

  it('rebuilds every file when dist/ was changed or lost a file, though tsc\'s incremental state says it is current', async () => {
    await fs.rm(file('dist/greeting.js'));
    assert.match(await built(), /dist\/ differs from what the last build left/);
    assert.equal((await run(file('dist/cli/main.js'), [], project)).stdout, 'hello again\n');

    await fs.writeFile(file('dist/greeting.js'), "export const greeting = 'tampered';\n");
    assert.match(await built(), /dist\/ differs from what the last build left/);
    assert.equal((await run(file('dist/cli/main.js'), [], project)).stdout, 'hello again\n');
  });

  it('removes the outputs of a deleted source', async () => {
    await fs.writeFile(file('src/extra.ts'), 'export const extra = 1;\n');
    await built();
    await fs.access(file('dist/extra.js'));
    await fs.rm(file('src/extra.ts'));
    assert.match(await built(), /removed outputs of deleted sources: dist\/extra\.d\.ts, dist\/extra\.js, dist\/extra\.js\.map/);
    await assert.rejects(fs.access(file('dist/extra.js')));
  });

  it('a failed build exits non-zero and is not marked up to date', async () => {
    await fs.writeFile(file('src/greeting.ts'), 'export const greeting: number = "not a number";\n');
    const failed = await build();
    assert.notEqual(failed.code, 0);
    assert.match(failed.stdout + failed.stderr, /TS2322/);
    assert.match(failed.stderr, /the build failed/);
    const again = await build();
    assert.notEqual(again.code, 0, 'the next run builds (and fails) again');
    await fs.writeFile(file('src/greeting.ts'), "export const greeting = 'fixed';\n");
    await built();
    assert.equal((await run(file('dist/cli/main.js'), [], project)).stdout, 'fixed\n');
  });

  it('the repository uses it: npm scripts, the incremental state path, the image build', async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      bin: Record<string, string>;
    };
    assert.match(manifest.scripts.build!, /node scripts\/build\.mjs$/);
    assert.match(manifest.scripts.prestart!, /node scripts\/build\.mjs --quiet$/);
    assert.match(manifest.scripts.migrate!, /node scripts\/build\.mjs --quiet && node dist\/migrate\.js$/);
    assert.equal(manifest.scripts.prepare, 'npm run build --silent');
    assert.deepEqual(manifest.bin, { portcullis: 'dist/cli/main.js' });
    // tsconfig.build.json may hold comments (tsc allows them): strip whole-line ones.
    const buildConfig = JSON.parse(
      (await fs.readFile(path.join(repoRoot, 'tsconfig.build.json'), 'utf8')).replace(/^\s*\/\/.*$/gm, ''),
    ) as { compilerOptions: Record<string, unknown> };
    assert.equal(buildConfig.compilerOptions.incremental, true);
    assert.equal(buildConfig.compilerOptions.tsBuildInfoFile, 'dist/.tsbuildinfo');
    const dockerfile = await fs.readFile(path.join(repoRoot, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^COPY scripts \.\/scripts$/m, 'npm ci in the image runs prepare, which needs scripts/');
  });
});
