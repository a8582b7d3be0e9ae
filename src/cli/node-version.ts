// The CLI's own copy of scripts/check-node-version.cjs (which npm scripts run first, but which
// the compiled CLI does not ship with): refuse, in one line, a Node.js older than package.json
// "engines.node", before any other module of the CLI is loaded.
import fs from 'node:fs';

const packageJson = new URL('../../package.json', import.meta.url); // from src/cli or dist/cli

type Version = [number, number, number];

function parse(pattern: RegExp, text: string): Version | undefined {
  const match = pattern.exec(text);
  return match ? [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)] : undefined;
}

/** What is wrong with running on `version` given an engines range of the form ">=22[.x[.y]]", or undefined. */
export function nodeVersionProblem(version: string, range: string): string | undefined {
  const minimum = parse(/^\s*>=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/, range);
  if (!minimum) return `package.json engines.node must have the form ">=MAJOR[.MINOR[.PATCH]]", not "${range}"`;
  const actual = parse(/^v?(\d+)\.(\d+)\.(\d+)/, version);
  if (!actual) return `cannot read the Node.js version "${version}"`;
  for (let i = 0; i < 3; i += 1) {
    if (actual[i]! > minimum[i]!) return undefined;
    if (actual[i]! < minimum[i]!) {
      return (
        `Node.js ${range.trim()} is required; this is Node.js ${version} (${process.execPath}). ` +
        'Install Node.js 24 LTS, or put a newer node first on PATH'
      );
    }
  }
  return undefined;
}

export function requiredNodeRange(): string {
  const manifest = JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { engines?: { node?: string } };
  return manifest.engines?.node ?? '';
}
