#!/usr/bin/env node
// Builds dist/ from src/ with tsc (tsconfig.build.json) only when it is out of date, and
// incrementally when it is, then makes the package's `bin` files executable.
//
// "Up to date" is decided by content, not by timestamps: dist/.build-stamp.json records a
// SHA-256 of everything the output depends on (every file under src/, the tsconfig files,
// package.json, the installed dependency tree as npm recorded it, and this script) and of every
// file the build left in dist/. The build is skipped only when both match exactly, so an edit
// whose timestamp is older than the last build (git checkout, cp -p, a restored archive) or a
// changed or deleted file in dist/ still rebuilds. When the outputs are intact tsc runs with its
// incremental state (dist/.tsbuildinfo, also content-hashed by tsc); when they are not, that
// state is deleted first so every file is emitted again. Outputs whose source is gone are removed.
//
// Usage: node scripts/build.mjs [--quiet]   (--quiet: say nothing when there is nothing to do)
/* global process, URL */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const srcDir = path.join(root, 'src');
const distDir = path.join(root, 'dist');
const stampFile = path.join(distDir, '.build-stamp.json');
// Must match "tsBuildInfoFile" in tsconfig.build.json.
const buildInfoFile = path.join(distDir, '.tsbuildinfo');
const stampVersion = 1;
const quiet = process.argv.includes('--quiet');

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const relative = (file) => path.relative(root, file).split(path.sep).join('/');

function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  const files = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...filesUnder(full));
    else if (entry.isFile()) files.push(full);
  }
  return files.sort();
}

function digests(files) {
  return Object.fromEntries(files.map((file) => [relative(file), sha256(fs.readFileSync(file))]));
}

function inputFiles() {
  // npm's record of what is installed (node_modules/.package-lock.json) rather than the wanted
  // tree: declaration output inlines types from dependencies, so a different installed version
  // can change dist/ even with the same sources. Fall back to the lockfile before any install.
  const installed = path.join(root, 'node_modules', '.package-lock.json');
  const tree = fs.existsSync(installed) ? installed : path.join(root, 'package-lock.json');
  const fixed = ['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((name) => path.join(root, name));
  return [...filesUnder(srcDir), ...fixed.filter((file) => fs.existsSync(file)), tree, fileURLToPath(import.meta.url)];
}

function outputFiles() {
  return filesUnder(distDir).filter((file) => file !== stampFile);
}

function readStamp() {
  try {
    const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
    return stamp?.version === stampVersion ? stamp : undefined;
  } catch {
    return undefined;
  }
}

function sameDigests(a, b) {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

// dist/a/b.js, .js.map, .d.ts and .d.ts.map come from src/a/b.ts; anything else tsc wrote
// (dist/.tsbuildinfo) is kept.
function sourceOf(output) {
  const rel = path.relative(distDir, output);
  const match = /^(.*)\.(?:js|js\.map|d\.ts|d\.ts\.map)$/.exec(rel);
  return match ? path.join(srcDir, `${match[1]}.ts`) : undefined;
}

function removeOrphans() {
  const removed = [];
  for (const output of outputFiles()) {
    const source = sourceOf(output);
    if (source && !fs.existsSync(source)) {
      fs.rmSync(output);
      removed.push(relative(output));
    }
  }
  // Directories left empty by the removal (deepest first).
  const dirs = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        dirs.push(path.join(dir, entry.name));
        walk(path.join(dir, entry.name));
      }
    }
  };
  if (fs.existsSync(distDir)) walk(distDir);
  for (const dir of dirs.reverse()) if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
  return removed;
}

// npm makes `bin` files executable only where it links them (a dependency's node_modules/.bin);
// the package's own checkout, where `npx portcullis` runs it, has them as tsc wrote them (0644).
function makeBinsExecutable() {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const bins = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
  for (const bin of bins) {
    const file = path.join(root, bin);
    if (!fs.existsSync(file)) throw new Error(`package.json bin ${bin} was not built`);
    const mode = fs.statSync(file).mode & 0o777;
    if ((mode & 0o111) !== 0o111) fs.chmodSync(file, mode | 0o111);
  }
}

function runTsc() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function writeStamp(inputs) {
  const stamp = { version: stampVersion, inputs, outputs: digests(outputFiles()) };
  const temporary = `${stampFile}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(stamp, null, 1)}\n`);
  fs.renameSync(temporary, stampFile);
}

function build() {
  const inputs = digests(inputFiles());
  const stamp = readStamp();
  const outputsIntact = stamp !== undefined && sameDigests(stamp.outputs, digests(outputFiles()));
  if (outputsIntact && sameDigests(stamp.inputs, inputs)) {
    makeBinsExecutable();
    if (!quiet) process.stderr.write('portcullis: dist/ is up to date\n');
    return 0;
  }

  const started = process.hrtime.bigint();
  let reason;
  if (!stamp) reason = 'no earlier build';
  else if (!outputsIntact) reason = 'dist/ differs from what the last build left';
  else {
    const changed = Object.keys({ ...stamp.inputs, ...inputs }).filter((file) => stamp.inputs[file] !== inputs[file]);
    reason = `changed: ${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ` and ${changed.length - 3} more` : ''}`;
  }
  process.stderr.write(`portcullis: building dist/ (${reason})\n`);
  // Without trustworthy outputs, tsc's incremental state would skip emitting files it believes
  // are already there.
  if (!outputsIntact) fs.rmSync(buildInfoFile, { force: true });
  fs.rmSync(stampFile, { force: true });

  const status = runTsc();
  if (status !== 0) {
    process.stderr.write('portcullis: the build failed (see the errors above); dist/ is not marked up to date\n');
    return status;
  }
  const removed = removeOrphans();
  if (removed.length) process.stderr.write(`portcullis: removed outputs of deleted sources: ${removed.join(', ')}\n`);
  makeBinsExecutable();
  writeStamp(inputs);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stderr.write(`portcullis: built dist/ in ${seconds.toFixed(1)} s\n`);
  return 0;
}

process.exitCode = build();
