// src/oidc/internals.ts patches oidc-provider below its public API, and those internals change
// between releases (the action arrays changed shape between 9.11 and 9.13). package.json pins the
// minor version; this test pins the release: installing any other one (a patch release included)
// fails here until every patch has been reviewed against it and patchedLibraryVersion updated.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { installedLibraryVersion, patchedLibraryVersion } from '../../src/oidc/internals.js';

describe('oidc-provider version', () => {
  it('the installed oidc-provider is the release the patches of src/oidc/internals.ts were written for', () => {
    assert.equal(
      installedLibraryVersion,
      patchedLibraryVersion,
      `oidc-provider ${installedLibraryVersion} is installed, src/oidc/internals.ts was written for ${patchedLibraryVersion}: review each patch, then update patchedLibraryVersion`,
    );
  });

  it('package.json allows patch releases of that minor version only, and the lock file holds that release', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    const [major, minor] = patchedLibraryVersion.split('.');
    assert.match(manifest.dependencies['oidc-provider']!, new RegExp(`^~${major}\\.${minor}\\.\\d+$`));
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, { version?: string }>;
    };
    assert.equal(lock.packages['node_modules/oidc-provider']?.version, patchedLibraryVersion);
  });
});
