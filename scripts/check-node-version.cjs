#!/usr/bin/env node
// Refuses, in one line, to go on under a Node.js older than package.json "engines.node".
// Run first by `npm start`, `npm test`, `npm run migrate` and the build, so that an old Node
// fails here with the version it needs rather than later with a cryptic message (Node 20's test
// runner, for one, takes the test glob for a file name). Deliberately old-fashioned JavaScript
// with no dependencies: it has to parse and run on the old versions it refuses.
'use strict';
/* global require, module, __dirname, process */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose, see above */

var fs = require('fs');
var path = require('path');

/** ">=22" or ">=22.12.0" → [22, 0, 0] / [22, 12, 0]; anything else is a mistake in package.json. */
function parseMinimum(range) {
  var match = /^\s*>=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(String(range));
  if (!match) return null;
  return [Number(match[1]), Number(match[2] || 0), Number(match[3] || 0)];
}

function parseVersion(version) {
  var match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(String(version));
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : null;
}

/** The problem with running on `version` given the engines range, or null when it satisfies it. */
function nodeVersionProblem(version, range) {
  var minimum = parseMinimum(range);
  if (!minimum) return 'package.json engines.node must have the form ">=MAJOR[.MINOR[.PATCH]]", not "' + range + '"';
  var actual = parseVersion(version);
  if (!actual) return 'cannot read the Node.js version "' + version + '"';
  for (var i = 0; i < 3; i += 1) {
    if (actual[i] > minimum[i]) return null;
    if (actual[i] < minimum[i]) {
      return (
        'Node.js ' + String(range).trim() + ' is required; this is Node.js ' + version + ' (' + process.execPath +
        '). Install Node.js 24 LTS, or put a newer node first on PATH'
      );
    }
  }
  return null;
}

function engineRange(packageJsonPath) {
  var manifest = JSON.parse(fs.readFileSync(packageJsonPath, 'utf8'));
  return manifest.engines && manifest.engines.node;
}

module.exports = { nodeVersionProblem: nodeVersionProblem, engineRange: engineRange };

if (require.main === module) {
  var problem = nodeVersionProblem(process.version, engineRange(path.join(__dirname, '..', 'package.json')));
  if (problem) {
    process.stderr.write('portcullis: ' + problem + '\n');
    process.exit(1);
  }
}
