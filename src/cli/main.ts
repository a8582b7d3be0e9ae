#!/usr/bin/env node
// The `portcullis` command (package.json `bin`).
import { nodeVersionProblem, requiredNodeRange } from './node-version.js';

function writeTo(stream: NodeJS.WriteStream): (text: string) => void {
  return (text) => {
    stream.write(text);
  };
}

// Checked before the rest of the CLI is imported, so that an old Node stops with the version
// it needs instead of an error from deeper down.
const problem = nodeVersionProblem(process.version, requiredNodeRange());
if (problem) {
  process.stderr.write(`portcullis: ${problem}\n`);
  process.exit(1);
}
const { runCli } = await import('./run.js');

// A reader that goes away early (`portcullis clients list | head`) is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

// exitCode rather than exit(): stdout (perhaps a pipe to jq) drains before the process ends.
process.exitCode = await runCli(process.argv.slice(2), process.env, {
  stdout: writeTo(process.stdout),
  stderr: writeTo(process.stderr),
});
