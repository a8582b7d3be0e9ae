// One measured run: prepare the scenario on the target, warm up, then measure the run with the
// server's CPU and memory, and count the store work it did (Postgres transactions and growth
// during the run, Redis round trips over a few operations afterwards).
import type { BenchOptions } from './options.js';
import { countRedisTrips } from './redis-trips.js';
import type { RunRecord } from './report.js';
import type { Scenario, ScenarioContext } from './scenarios.js';
import type { Target } from './targets.js';
import { withUsage } from './usage.js';

export async function measureOne(scenario: Scenario, target: Target, connections: number, options: BenchOptions, ctx: ScenarioContext): Promise<RunRecord> {
  const prepared = await scenario.prepare(ctx, target, connections);
  if (options.warmupSeconds > 0) await prepared.load(options.warmupSeconds);
  // Store round trips per op: Redis commands and Postgres transactions, counted around the run.
  const counters = async () =>
    target.database && target.redisPrefix
      ? { pgBytes: await target.database.sizeBytes(), pgXacts: await target.database.transactions() }
      : undefined;
  const before = await counters();
  const { result, usage } = await withUsage(target.server.pid, target.storePids, () => prepared.load(options.seconds));
  // Postgres publishes a backend's statistics about once a second.
  if (before) await new Promise((resolve) => setTimeout(resolve, 1_500));
  const after = await counters();
  const trips = target.redisPrefix
    ? await countRedisTrips(options.redisUrl, target.redisPrefix, scenario.unit === 'flow' ? 3 : 20, () => prepared.one()).catch((error: unknown) => {
        process.stderr.write(`  could not count Redis round trips: ${error instanceof Error ? error.message : String(error)}\n`);
        return undefined;
      })
    : undefined;
  const units = Math.max(1, result.completed);
  const stores = usage.storesCpuSeconds ?? 0;
  return {
    scenario: scenario.id,
    title: scenario.title,
    unit: scenario.unit,
    target: target.id,
    connections,
    seconds: result.seconds,
    completed: result.completed,
    ok: result.ok,
    okPerSecond: result.ok / result.seconds,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodes,
    latencyMs: result.latencyMs,
    serverCpuUsPerUnit: (usage.serverCpuSeconds * 1e6) / units,
    ...(usage.storesCpuSeconds === undefined ? {} : { storesCpuUsPerUnit: (usage.storesCpuSeconds * 1e6) / units }),
    serverCpuCores: usage.serverCpuSeconds / usage.seconds,
    loadgenCpuCores: usage.loadgenCpuSeconds / usage.seconds,
    machineBusyCores: usage.machineBusySeconds / usage.seconds,
    otherCpuCores: Math.max(0, usage.machineBusySeconds - usage.serverCpuSeconds - stores - usage.loadgenCpuSeconds) / usage.seconds,
    peakRssMiB: usage.peakRssBytes / 2 ** 20,
    peakTotalRssMiB: usage.peakTotalRssBytes / 2 ** 20,
    serverProcesses: usage.serverProcesses,
    ...(before && after
      ? {
          pgBytesPerUnit: (after.pgBytes - before.pgBytes) / units,
          pgTransactionsPerUnit: (after.pgXacts - before.pgXacts) / units,
        }
      : {}),
    ...(trips ? { redis: trips } : {}),
    ...(result.firstFailure ? { firstFailure: result.firstFailure } : {}),
    notes: prepared.notes(),
  };
}
