#!/usr/bin/env node
// The `portcullis` command (package.json `bin`).
import { runCli } from './run.js';

function writeTo(stream: NodeJS.WriteStream): (text: string) => void {
  return (text) => {
    stream.write(text);
  };
}

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
