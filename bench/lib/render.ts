// The Markdown report of a run (also written next to the JSON).
import type { Argon2Limit } from './argon2-limit.js';
import { profileMarkdown, type ProfileSummary } from './cpu-profile.js';
import type { MachineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import type { RedisFootprint } from './redis-footprint.js';
import {
  contentionWarning,
  footprintTable,
  loadTable,
  markdownTable,
  redisTripsTable,
  targetsTable,
  type FailedRun,
  type RunRecord,
  type TargetCheck,
} from './report.js';
import type { ScenarioId } from './scenarios.js';
import type { TargetId } from './targets.js';

// A stated workload for "Postgres growth per day" (issue 7, item 3).
const dailyWorkload: Partial<Record<ScenarioId, number>> = {
  'cc-secret': 1_000_000,
  'cc-pkjwt': 1_000_000,
  exchange: 200_000,
  introspect: 500_000,
  refresh: 100_000,
  login: 20_000,
};

export function postgresGrowth(records: RunRecord[]): { workload: typeof dailyWorkload; bytesPerDay: number; perScenario: Record<string, number> } {
  const perScenario: Record<string, number> = {};
  let bytesPerDay = 0;
  for (const [scenario, perDay] of Object.entries(dailyWorkload)) {
    const rows = records.filter((r) => r.target === 'portcullis' && r.scenario === scenario && r.pgBytesPerUnit !== undefined);
    if (!rows.length) continue;
    const bytes = Math.max(0, ...rows.map((r) => r.pgBytesPerUnit!));
    perScenario[scenario] = bytes;
    bytesPerDay += bytes * perDay;
  }
  return { workload: dailyWorkload, bytesPerDay, perScenario };
}

export interface BenchResults {
  startedAt: string;
  options: BenchOptions;
  machine: MachineInfo;
  stores: { redis: { version: string }; postgres: string };
  argon2: Argon2Limit | undefined;
  seeded: { clients: number; users: number } | undefined;
  idleRssMiB: Record<string, number>;
  records: RunRecord[];
  failures: FailedRun[];
  targets: TargetCheck[];
  redisFootprint: RedisFootprint | undefined;
  postgres: { growth: ReturnType<typeof postgresGrowth>; tables: Record<string, number> | undefined };
  profiles: ({ target: TargetId } & ProfileSummary)[];
}

export function renderMarkdown(results: BenchResults): string {
  const { options, machine, argon2, seeded, idleRssMiB, records, failures, redisFootprint: footprint } = results;
  const { growth, tables: pgTables } = results.postgres;
  return [
    `## Portcullis benchmark, ${results.startedAt}`,
    '',
    `${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.kernel}; Node ${machine.node}; ` +
      `oidc-provider ${machine.libraries['oidc-provider']}, autocannon ${machine.libraries.autocannon}; Redis ${results.stores.redis.version}, Postgres ${results.stores.postgres}; ` +
      `code ${machine.git ? `${machine.git.commit}${machine.git.dirty ? ' (uncommitted changes)' : ''}` : 'unknown'}; ` +
      `Portcullis from ${options.useTsx ? 'src/ via tsx' : 'dist/'}; ${options.seconds} s per run after ${options.warmupSeconds} s warm-up; ${options.workers} server process${options.workers === 1 ? '' : 'es'} each; ` +
      `${seeded ? `${seeded.clients.toLocaleString('en-US')} clients and ${seeded.users.toLocaleString('en-US')} users seeded into Postgres; ` : ''}` +
      `Portcullis' per-instance token endpoint rates raised to 10,000,000 per 10 s (all load comes from one address)` +
      `${Object.keys(options.serverEnv).length ? `; extra env ${Object.entries(options.serverEnv).map(([name, value]) => `${name}=${value}`).join(' ')}` : ''}.`,
    '',
    ...(contentionWarning(records) ? [contentionWarning(records)!, ''] : []),
    markdownTable(records),
    '',
    `Idle RSS after start-up (per process): ${Object.entries(idleRssMiB)
      .map(([id, mib]) => `${id} ${mib.toFixed(0)} MiB`)
      .join(', ')}.`,
    '',
    ...(argon2
      ? [
          `argon2id limit (m=${argon2.parameters.memoryCost}, t=${argon2.parameters.timeCost}, p=${argon2.parameters.parallelism}), same run: ` +
        `${argon2.verifyPerSecond.toFixed(1)} verify/s, ${argon2.hashPerSecond.toFixed(1)} hash/s (${argon2.verifyMeanMs.toFixed(1)} ms each with ${argon2.concurrency} in flight, ${argon2.verifyCpuMs.toFixed(1)} ms of CPU each)`,
          '',
        ]
      : []),
    '### Targets (issue 7, item 2)',
    '',
    targetsTable(results.targets),
    '',
    '### Where the CPU went',
    '',
    loadTable(records),
    ...(redisTripsTable(records) ? ['', '### Redis round trips (MONITOR over a few sequential operations after each run)', '', redisTripsTable(records)!] : []),
    ...(footprint ? ['', '### Redis footprint (Portcullis, after the run)', '', footprintTable(footprint)] : []),
    ...(growth.bytesPerDay || Object.keys(growth.perScenario).length
      ? [
          '',
          '### Postgres growth',
          '',
          `Per operation (database size delta over the measured runs): ${Object.entries(growth.perScenario)
            .map(([scenario, bytes]) => `${scenario} ${bytes.toFixed(0)} B`)
            .join(', ')}. ` +
            `For a day of ${Object.entries(growth.workload)
              .map(([scenario, count]) => `${count.toLocaleString('en-US')} ${scenario}`)
              .join(', ')}: about ${(growth.bytesPerDay / 2 ** 20).toFixed(1)} MiB/day.`,
          ...(pgTables ? ['', `Tables at the end: ${Object.entries(pgTables).map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)} KiB`).join(', ')}`] : []),
        ]
      : []),
    ...(failures.length ? ['', '### Runs that could not be measured', '', ...failures.map((f) => `- ${f.scenario} @${f.connections} on ${f.target}: ${f.error.split('\n')[0]}`)] : []),
    ...results.profiles.flatMap((p) => ['', profileMarkdown(`CPU profile of ${p.target}`, p)]),
  ].join('\n');

}
