// The start-up check warns when Redis may evict our keys (anything but noeviction).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openShortLivedStores } from '../../src/stores/short-lived.js';
import { freePort } from '../helpers/server.js';
import { createPgliteDatabase } from '../helpers/stores.js';

if (process.env.REDIS_URL) {
  describe('Redis eviction policy check', () => {
    const cleanups: (() => Promise<unknown>)[] = [];
    let pglite: Awaited<ReturnType<typeof createPgliteDatabase>>;
    before(async () => {
      pglite = await createPgliteDatabase();
      cleanups.push(() => pglite.close());
    });
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    async function redisWithPolicy(policy: string): Promise<string> {
      const port = await freePort();
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', policy], { stdio: 'ignore' });
      cleanups.push(async () => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      });
      await sleep(300);
      return `redis://127.0.0.1:${port}`;
    }

    for (const [policy, warns] of [['allkeys-lru', true], ['volatile-ttl', true], ['noeviction', false]] as const) {
      it(`${warns ? 'warns' : 'is quiet'} for maxmemory-policy ${policy}`, async () => {
        const stores = openShortLivedStores({ redisUrl: await redisWithPolicy(policy), keyPrefix: 'check:', db: pglite.db });
        try {
          const warnings = await stores.configurationWarnings();
          if (warns) assert.match(warnings.join('\n'), /noeviction/);
          else assert.deepEqual(warnings, []);
        } finally {
          await stores.close();
        }
      });
    }
  });
}
