// `npm run bench`: Portcullis (on real Postgres + Redis, and with --embedded on PGlite) side by
// side with a bare oidc-provider v9 baseline, alternating, in one run. See bench/README.md.
//
// Order of work: build → fresh stores → start the servers and register fixtures → for each
// scenario and connection count, each target in turn (order alternating): prepare, warm up,
// measure → Redis footprint → stop the servers (profiles are written) → report → clean up.
// Everything started here is stopped and removed at the end, on errors and on Ctrl-C.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureArgon2Limit, type Argon2Limit } from './lib/argon2-limit.js';
import { summariseProfile, type ProfileSummary } from './lib/cpu-profile.js';
import { apis, basicAuth, clientIds, createAssertionKey, username } from './lib/fixtures.js';
import { createHttpClient, form, formHeaders, postJson } from './lib/http.js';
import { describeMachine } from './lib/machine.js';
import { measureOne } from './lib/measure.js';
import { parseOptions, usage, type BenchOptions } from './lib/options.js';
import { killAllChildrenNow, processTree, rssBytes, stopAllChildren } from './lib/proc.js';
import { measureRedisFootprint, type RedisFootprint } from './lib/redis-footprint.js';
import { postgresGrowth, renderMarkdown } from './lib/render.js';
import { checkTargets, computeRatios, type FailedRun, type RunRecord } from './lib/report.js';
import { scenarios, type ScenarioContext } from './lib/scenarios.js';
import { seedDatabase } from './lib/seed.js';
import { renderScale, runScaleSweep, type ScaleRecord } from './lib/scale.js';
import { deletePrefix, postgresVersion, redisInfo, tableSizes, uniqueRedisPrefix, type BenchDatabase } from './lib/stores.js';
import { startBaseline, startPortcullis, type Target, type TargetId } from './lib/targets.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---- clean-up, whatever happens ---------------------------------------------------------------
// In this order: the load generator's sockets, the servers, then their stores, then the files.
const owned = {
  closers: [] as (() => void)[],
  redis: undefined as { url: string; prefix: string } | undefined,
  databases: [] as BenchDatabase[],
  workDir: undefined as string | undefined,
};
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  const attempt = async (what: string, task: () => Promise<unknown>) => {
    await task().catch((error: unknown) => log(`clean-up (${what}): ${error instanceof Error ? error.message : String(error)}`));
  };
  cleaning ??= (async () => {
    for (const close of owned.closers.splice(0)) close();
    await attempt('servers', () => stopAllChildren());
    const redis = owned.redis;
    if (redis) {
      await attempt('Redis keys', async () => log(`removed ${await deletePrefix(redis.url, redis.prefix)} Redis keys under ${redis.prefix}`));
    }
    for (const database of owned.databases.splice(0)) await attempt(`database ${database.name}`, () => database.drop());
    const dir = owned.workDir;
    if (dir) await attempt('temp files', async () => fs.rmSync(dir, { recursive: true, force: true }));
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping the servers and removing the run's database and keys…`);
    const force = setTimeout(() => process.exit(130), 20_000);
    force.unref();
    void cleanUp().finally(() => process.exit(130));
  });
}
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.once(event, (error: unknown) => {
    log(`\n${event}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    void cleanUp().finally(() => process.exit(1));
  });
}
process.on('exit', killAllChildrenNow);

// ---- steps --------------------------------------------------------------------------------------
function build(options: BenchOptions): void {
  if (!options.build) return;
  log('building Portcullis (scripts/build.mjs: tsc only when dist/ is out of date)…');
  const script = path.join(repoRoot, 'scripts', 'build.mjs');
  const result = spawnSync(process.execPath, [script, '--quiet'], { cwd: repoRoot, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`the build failed (use --no-build to run the existing dist/, or --tsx):\n${result.stdout}${result.stderr}`);
  }
}

async function revokeSomeJwts(target: Target, count: number): Promise<void> {
  const http = createHttpClient({ maxSockets: 8 });
  try {
    const authorization = basicAuth(clientIds.secret, target.secrets[clientIds.secret]!);
    for (let index = 0; index < count; index += 1) {
      const body = await postJson(http, `${target.issuer}/token`, { grant_type: 'client_credentials', resource: apis.main.identifier, scope: 'api.read' }, { authorization });
      const response = await http.request(`${target.issuer}/token/revocation`, {
        method: 'POST',
        headers: { ...formHeaders, authorization },
        body: form({ token: String(body.access_token), token_type_hint: 'access_token' }),
      });
      if (response.status !== 200) throw new Error(`revocation: ${response.status} ${response.body.slice(0, 200)}`);
    }
  } finally {
    http.close();
  }
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(usage);
    return;
  }
  const options = parsed;
  const startedAt = new Date();
  const machine = describeMachine(repoRoot);
  log(`Portcullis benchmark — ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}`);
  log(`runs of ${options.seconds} s after ${options.warmupSeconds} s warm-up, at ${options.connections.join(' and ')} connections`);

  const redis = await redisInfo(options.redisUrl).catch((error: unknown) => {
    throw new Error(`Redis at ${options.redisUrl} does not answer (${error instanceof Error ? error.message : String(error)})`);
  });
  const pgVersion = await postgresVersion(options.pgUrl).catch((error: unknown) => {
    throw new Error(`Postgres at ${options.pgUrl} does not answer (${error instanceof Error ? error.message : String(error)})`);
  });
  build(options);

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portcullis-bench-'));
  owned.workDir = workDir;
  const key = createAssertionKey();
  const redisPrefix = uniqueRedisPrefix();
  owned.redis = { url: options.redisUrl, prefix: redisPrefix };
  const startOptions = { repoRoot, workDir, profile: options.profile, workers: options.workers, serverEnv: options.serverEnv, key, ownDatabase: (database: BenchDatabase) => owned.databases.push(database) };

  log('starting Portcullis on Postgres + Redis…');
  const targets: Target[] = [];
  const portcullis = await startPortcullis({
    ...startOptions,
    stores: 'real',
    pgAdminUrl: options.pgUrl,
    redisUrl: options.redisUrl,
    redisPrefix,
    useTsx: options.useTsx,
    ...(redis.pid ? { redisPid: redis.pid } : {}),
  });
  targets.push(portcullis);
  let seeded: Awaited<ReturnType<typeof seedDatabase>> | undefined;
  if ((options.seedClients || options.seedUsers) && portcullis.database) {
    log(`seeding ${options.seedClients} clients and ${options.seedUsers} users into Postgres…`);
    seeded = await seedDatabase(portcullis.database.url, { clients: options.seedClients, users: options.seedUsers }, { clientId: clientIds.secret, username: username(0) });
    log(`  seeded ${seeded.clients} clients and ${seeded.users} users in ${seeded.seconds.toFixed(1)} s`);
  }
  if (!options.scale) {
    log('starting the oidc-provider baseline…');
    targets.push(await startBaseline(startOptions));
  }
  if (options.embedded && !options.scale) {
    log('starting Portcullis on the embedded default…');
    targets.push(await startPortcullis({ ...startOptions, stores: 'embedded', pgAdminUrl: options.pgUrl, redisUrl: options.redisUrl, redisPrefix, useTsx: options.useTsx }));
  }

  // Memory right after start-up and registration, before any load.
  const idleRssMiB = Object.fromEntries(
    targets.map((target) => [target.id, Math.max(0, ...processTree(target.server.pid).map((pid) => rssBytes(pid) ?? 0)) / 2 ** 20]),
  );
  const http = createHttpClient({ maxSockets: Math.max(...options.connections, 8) });
  owned.closers.push(() => http.close());
  const records: RunRecord[] = [];
  const failures: FailedRun[] = [];
  const hints = new Map<string, number>();
  const ctx: ScenarioContext = {
    key,
    http,
    totalSeconds: options.seconds + options.warmupSeconds,
    seeded: { clients: seeded?.clients ?? 0, users: seeded?.users ?? 0 },
    rateHint: (target, scenario, connections) => hints.get(`${target.id}|${scenario}|${connections}`),
  };
  let argon2: Argon2Limit | undefined;

  const selected = options.scale ? [] : scenarios.filter((s) => !options.scenarios || options.scenarios.includes(s.id));
  let round = 0;
  for (const scenario of selected) {
    if (scenario.id === 'login') {
      log(`measuring the argon2id limit (${options.seconds} s)…`);
      argon2 = await measureArgon2Limit(options.seconds);
      log(`  argon2id verify: ${argon2.verifyPerSecond.toFixed(1)}/s, hash: ${argon2.hashPerSecond.toFixed(1)}/s`);
    }
    for (const connections of options.connections) {
      const applicable = targets.filter((target) => scenario.appliesTo(target, ctx));
      const order = round++ % 2 === 0 ? applicable : [...applicable].reverse();
      for (const target of order) {
        const record = await measureOne(scenario, target, connections, options, ctx).catch((error: unknown) => {
          let message = error instanceof Error ? error.message : String(error);
          const { exitCode, signalCode } = target.server.process;
          if (exitCode !== null || signalCode !== null) {
            message = `${target.id} exited (${signalCode ?? `code ${exitCode}`}); its log is kept with the results. ${message}`;
            log(`  ${target.id} is gone; the end of its log:\n${target.server.tail(15)}`);
          }
          failures.push({ scenario: scenario.id, target: target.id, connections, error: message });
          log(`  ${scenario.id} @${connections} on ${target.id}: FAILED ${message.split('\n')[0]}`);
          return undefined;
        });
        if (!record) continue;
        records.push(record);
        hints.set(`${target.id}|${scenario.id}|${connections}`, record.okPerSecond);
        log(
          `  ${scenario.id.padEnd(17)} @${String(connections).padEnd(3)} ${target.id.padEnd(19)} ${record.okPerSecond.toFixed(0).padStart(7)} ok/s` +
            `  p50 ${record.latencyMs.p50.toFixed(2)} ms  p99 ${record.latencyMs.p99.toFixed(2)} ms  non-2xx ${record.non2xx}  errors ${record.errors}` +
            `  ${record.serverCpuUsPerUnit.toFixed(0)} µs CPU/${scenario.unit}`,
        );
      }
    }
  }

  let scale: ScaleRecord[] | undefined;
  // The sweep compares Portcullis with itself across steps: no baseline, no argon2 limit needed.
  if (options.scale) scale = await runScaleSweep(portcullis, options, ctx, log);

  let footprint: RedisFootprint | undefined;
  let pgTables: Record<string, number> | undefined;
  if (portcullis.redisPrefix && portcullis.database) {
    log('measuring Redis bytes per record…');
    await revokeSomeJwts(portcullis, 200).catch((error: unknown) => log(`  could not revoke tokens: ${String(error)}`));
    footprint = await measureRedisFootprint(options.redisUrl, portcullis.redisPrefix).catch((error: unknown) => {
      log(`  Redis footprint failed: ${String(error)}`);
      return undefined;
    });
    pgTables = await tableSizes(portcullis.database.url).catch(() => undefined);
  }

  log('stopping the servers…');
  await stopAllChildren();
  const profiles: { target: TargetId; summary: ProfileSummary; kept: string }[] = [];
  const outDir = path.resolve(options.outDir ?? path.join(repoRoot, 'bench', 'results'));
  fs.mkdirSync(outDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  for (const target of targets) {
    // The servers' own logs (client and server errors only at the default level).
    if (fs.existsSync(target.server.logFile)) fs.copyFileSync(target.server.logFile, path.join(outDir, `${stamp}-${target.id}.log`));
  }
  for (const target of targets) {
    if (!target.profileDir || !fs.existsSync(target.profileDir)) continue;
    for (const file of fs.readdirSync(target.profileDir).filter((name) => name.endsWith('.cpuprofile'))) {
      const kept = path.join(outDir, `${stamp}-${target.id}.cpuprofile`);
      fs.copyFileSync(path.join(target.profileDir, file), kept);
      profiles.push({ target: target.id, summary: summariseProfile(kept, repoRoot), kept });
    }
  }

  computeRatios(records, argon2);
  const checks = checkTargets(records, argon2, footprint);
  const growth = postgresGrowth(records);
  const json = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options,
    machine: { ...machine, loadAverageAtEnd: os.loadavg() },
    stores: { redis, postgres: pgVersion },
    argon2,
    seeded,
    idleRssMiB,
    records,
    failures,
    targets: checks,
    redisFootprint: footprint,
    postgres: { growth, tables: pgTables },
    profiles: profiles.map((p) => ({ target: p.target, ...p.summary })),
    ...(scale ? { scale } : {}),
  };
  const jsonFile = path.join(outDir, `${stamp}.json`);
  fs.writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  const markdown = scale ? `${renderMarkdown(json)}\n\n${renderScale(scale)}` : renderMarkdown(json);
  fs.writeFileSync(path.join(outDir, `${stamp}.md`), `${markdown}\n`);
  process.stdout.write(`${markdown}\n\nresults: ${path.relative(process.cwd(), jsonFile)}\n`);
}

try {
  await main();
} catch (error) {
  log(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
