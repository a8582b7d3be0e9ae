// Issue 7, item 3 ("cost as work grows"): the same token and login load on Portcullis with 10,
// then 10,000, then 100,000 clients and up to 1,000,000 users in its Postgres database. Clients
// and users are added between the steps (SQL copies of the fixtures: seed.ts); the token load
// spreads over every seeded client (`cc-secret-many`), the logins over every seeded user. The
// goal: throughput at the largest step within 10% of the smallest.
import { clientIds, username } from './fixtures.js';
import { measureOne } from './measure.js';
import type { BenchOptions } from './options.js';
import type { RunRecord } from './report.js';
import { scenarios, type ScenarioContext, type ScenarioId } from './scenarios.js';
import { seedDatabase } from './seed.js';
import type { Target } from './targets.js';

export const scaleSteps = [
  { clients: 10, users: 10 },
  { clients: 10_000, users: 100_000 },
  { clients: 100_000, users: 1_000_000 },
] as const;

const scaleScenarios: readonly ScenarioId[] = ['cc-secret-many', 'login'];

/** Within this fraction of the smallest step's throughput counts as flat. */
const allowedDrop = 0.1;

export interface ScaleRecord {
  step: { clients: number; users: number };
  seedSeconds: number;
  record: RunRecord;
}

export async function runScaleSweep(
  target: Target,
  options: BenchOptions,
  ctx: ScenarioContext,
  log: (line: string) => void,
): Promise<ScaleRecord[]> {
  if (!target.database) throw new Error('the scale sweep needs Portcullis on Postgres');
  const connections = options.connections[0]!;
  const results: ScaleRecord[] = [];
  let seeded = { clients: 0, users: 0 };
  for (const step of scaleSteps) {
    log(`seeding up to ${step.clients.toLocaleString('en-US')} clients and ${step.users.toLocaleString('en-US')} users…`);
    const added = await seedDatabase(target.database.url, step, { clientId: clientIds.secret, username: username(0) }, seeded);
    seeded = { clients: step.clients, users: step.users };
    ctx.seeded = seeded;
    for (const id of scaleScenarios) {
      const scenario = scenarios.find((candidate) => candidate.id === id)!;
      const record = await measureOne(scenario, target, connections, options, ctx);
      results.push({ step, seedSeconds: added.seconds, record });
      log(`  ${id.padEnd(15)} ${step.clients.toLocaleString('en-US').padStart(8)} clients ${step.users.toLocaleString('en-US').padStart(10)} users  ${record.okPerSecond.toFixed(1).padStart(8)} ok/s  p99 ${record.latencyMs.p99.toFixed(1)} ms  errors ${record.errors + record.non2xx}`);
    }
  }
  return results;
}

export function renderScale(results: readonly ScaleRecord[]): string {
  const rows = results.map(({ step, record }) => {
    const first = results.find((other) => other.record.scenario === record.scenario)!.record;
    const ratio = record.okPerSecond / first.okPerSecond;
    return `| ${record.scenario} | ${step.clients.toLocaleString('en-US')} | ${step.users.toLocaleString('en-US')} | ${record.okPerSecond.toFixed(1)} | ${record.latencyMs.p99.toFixed(1)} | ${record.non2xx + record.errors} | ${record.serverCpuUsPerUnit.toFixed(0)} | ${record.pgTransactionsPerUnit?.toFixed(2) ?? '–'} | ${ratio.toFixed(2)}× | ${ratio >= 1 - allowedDrop ? 'yes' : '**no**'} |`;
  });
  return [
    '### Cost as work grows (issue 7, item 3)',
    '',
    `Portcullis alone, the same load at each step; "within 10%" compares each step's ok/s to the first step's.`,
    '',
    '| scenario | clients | users | ok/s | p99 ms | non-2xx + errors | CPU µs/op | PG xacts/op | vs first step | within 10% |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
}
