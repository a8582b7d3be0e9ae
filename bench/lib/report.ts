// Turning measured runs into the Markdown report and the targets of issue 7 (item 2).
import type { Argon2Limit } from './argon2-limit.js';
import type { LatencySummary } from './load.js';
import type { RedisFootprint } from './redis-footprint.js';
import type { RedisTrips } from './redis-trips.js';
import type { ScenarioId } from './scenarios.js';
import type { TargetId } from './targets.js';

export interface RunRecord {
  scenario: ScenarioId;
  title: string;
  unit: 'request' | 'flow';
  target: TargetId;
  connections: number;
  seconds: number;
  completed: number;
  ok: number;
  okPerSecond: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyMs: LatencySummary;
  /** Server process CPU per completed request (or flow), microseconds. */
  serverCpuUsPerUnit: number;
  /** Redis + this database's Postgres backends, per unit; Portcullis on real stores only. */
  storesCpuUsPerUnit?: number;
  serverCpuCores: number;
  loadgenCpuCores: number;
  machineBusyCores: number;
  /** Busy CPU on the machine not used by the server, its stores or the load generator. */
  otherCpuCores: number;
  /** Highest RSS of any one server process (a worker). */
  peakRssMiB: number;
  /** Highest RSS of the primary and its workers together. */
  peakTotalRssMiB: number;
  serverProcesses: number;
  /** Growth of the Postgres database per unit (Portcullis on real stores). */
  pgBytesPerUnit?: number;
  /** Postgres transactions in this run's database per unit. */
  pgTransactionsPerUnit?: number;
  /** Redis round trips per unit, counted with MONITOR over a few sequential operations. */
  redis?: RedisTrips;
  ratio?: { value: number; against: string };
  /** Baseline CPU per op ÷ ours (above 1: we spend less CPU per op); steadier than ok/s on a busy machine. */
  cpuRatio?: number;
  firstFailure?: string;
  notes: string[];
}

export interface FailedRun {
  scenario: ScenarioId;
  target: TargetId;
  connections: number;
  error: string;
}

const targetShort: Record<TargetId, string> = {
  portcullis: 'Portcullis PG+Redis',
  'portcullis-embedded': 'Portcullis embedded',
  baseline: 'baseline',
};

const fixed = (value: number | undefined, digits = 1) => (value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits));
const whole = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '–' : Math.round(value).toLocaleString('en-US'));

/** Fills in each record's ratio: to the baseline, to Portcullis' own private_key_jwt number, or to argon2. */
export function computeRatios(records: RunRecord[], argon2: Argon2Limit | undefined): void {
  const find = (scenario: ScenarioId, target: TargetId, connections: number) =>
    records.find((record) => record.scenario === scenario && record.target === target && record.connections === connections);
  for (const record of records) {
    if (record.target === 'baseline') continue;
    if (record.scenario === 'exchange') {
      const own = find('cc-pkjwt', record.target, record.connections);
      if (own?.okPerSecond) record.ratio = { value: record.okPerSecond / own.okPerSecond, against: 'own cc-pkjwt' };
      if (own?.serverCpuUsPerUnit && record.serverCpuUsPerUnit) record.cpuRatio = own.serverCpuUsPerUnit / record.serverCpuUsPerUnit;
    } else if (record.scenario === 'txn') {
      const own = find('exchange', record.target, record.connections);
      if (own?.okPerSecond) record.ratio = { value: record.okPerSecond / own.okPerSecond, against: 'own exchange' };
      if (own?.serverCpuUsPerUnit && record.serverCpuUsPerUnit) record.cpuRatio = own.serverCpuUsPerUnit / record.serverCpuUsPerUnit;
    } else if (record.scenario === 'phantom') {
      const own = find('introspect', record.target, record.connections);
      if (own?.okPerSecond) record.ratio = { value: record.okPerSecond / own.okPerSecond, against: 'own introspect' };
      if (own?.serverCpuUsPerUnit && record.serverCpuUsPerUnit) record.cpuRatio = own.serverCpuUsPerUnit / record.serverCpuUsPerUnit;
    } else if (record.scenario === 'cc-secret-many') {
      const own = find('cc-secret', record.target, record.connections);
      if (own?.okPerSecond) record.ratio = { value: record.okPerSecond / own.okPerSecond, against: 'own cc-secret' };
      if (own?.serverCpuUsPerUnit && record.serverCpuUsPerUnit) record.cpuRatio = own.serverCpuUsPerUnit / record.serverCpuUsPerUnit;
    } else if (record.scenario === 'login') {
      if (argon2) record.ratio = { value: record.okPerSecond / argon2.verifyPerSecond, against: 'argon2 verify/s' };
    } else {
      const baseline = find(record.scenario, 'baseline', record.connections);
      if (baseline?.okPerSecond) record.ratio = { value: record.okPerSecond / baseline.okPerSecond, against: 'baseline' };
      if (baseline?.serverCpuUsPerUnit && record.serverCpuUsPerUnit) record.cpuRatio = baseline.serverCpuUsPerUnit / record.serverCpuUsPerUnit;
    }
  }
}

export function markdownTable(records: RunRecord[]): string {
  const lines = [
    '| scenario | conns | server | ok/s | p50 ms | p99 ms | non-2xx | errors | CPU µs/op | stores µs/op | peak RSS MiB | ratio (ok/s) | CPU ratio |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of records) {
    const ratio = r.ratio ? `${r.ratio.value.toFixed(2)}× ${r.ratio.against}` : r.target === 'baseline' ? '(ref)' : '–';
    lines.push(
      `| ${r.scenario} | ${r.connections} | ${targetShort[r.target]} | ${whole(r.okPerSecond)} | ${fixed(r.latencyMs.p50, 2)} | ${fixed(r.latencyMs.p99, 2)} | ${r.non2xx} | ${r.errors} | ${whole(r.serverCpuUsPerUnit)} | ${whole(r.storesCpuUsPerUnit)} | ${fixed(r.peakRssMiB, 0)} | ${ratio} | ${r.cpuRatio === undefined ? '–' : `${r.cpuRatio.toFixed(2)}×`} |`,
    );
  }
  return lines.join('\n');
}

export function loadTable(records: RunRecord[]): string {
  const lines = [
    '| scenario | conns | server | server cores | load-gen cores | other cores | Redis trips/op (+ in scripts) | PG xacts/op | PG bytes/op | notes |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of records) {
    lines.push(
      `| ${r.scenario} | ${r.connections} | ${targetShort[r.target]} | ${fixed(r.serverCpuCores, 2)} | ${fixed(r.loadgenCpuCores, 2)} | ${fixed(r.otherCpuCores, 2)} | ${r.redis ? `${fixed(r.redis.roundTripsPerOp, 1)} (+${fixed(r.redis.scriptCommandsPerOp, 1)})` : '–'} | ${fixed(r.pgTransactionsPerUnit, 2)} | ${fixed(r.pgBytesPerUnit, 0)} | ${[...r.notes, ...(r.firstFailure ? [`first failure: ${r.firstFailure.replace(/\|/g, '/').slice(0, 120)}`] : [])].join('; ')} |`,
    );
  }
  return lines.join('\n');
}

export interface TargetCheck {
  target: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
}

export function checkTargets(records: RunRecord[], argon2: Argon2Limit | undefined, footprint: RedisFootprint | undefined): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const ours = records.filter((r) => r.target === 'portcullis');
  const ratioCheck = (scenario: ScenarioId, label: string, goal: number) => {
    const rows = ours.filter((r) => r.scenario === scenario && r.ratio);
    if (!rows.length) return;
    const worst = Math.min(...rows.map((r) => r.ratio!.value));
    const cpu = rows.filter((r) => r.cpuRatio !== undefined);
    checks.push({
      target: label,
      goal: `>= ${goal.toFixed(1)}×`,
      measured:
        rows.map((r) => `${r.ratio!.value.toFixed(2)}× @${r.connections}`).join(', ') +
        (cpu.length ? ` (CPU per op: ${cpu.map((r) => `${r.cpuRatio!.toFixed(2)}×`).join(', ')})` : ''),
      met: worst >= goal,
    });
  };
  ratioCheck('cc-secret', 'client_credentials (secret) vs baseline', 1.0);
  ratioCheck('cc-pkjwt', 'client_credentials (private_key_jwt) vs baseline', 1.0);
  ratioCheck('cc-dpop', "client_credentials with DPoP vs the baseline's own DPoP", 1.0);
  // RFC 9449 costs a signature check and a replay marker per request: at most 20 % of bearer.
  const dpopRows = ours.filter((r) => r.scenario === 'cc-dpop');
  const againstBearer = dpopRows.flatMap((r) => {
    const bearer = ours.find((o) => o.scenario === 'cc-secret' && o.connections === r.connections);
    return bearer?.okPerSecond ? [{ connections: r.connections, value: r.okPerSecond / bearer.okPerSecond }] : [];
  });
  if (againstBearer.length) {
    checks.push({
      target: 'client_credentials with DPoP vs bearer (own cc-secret)',
      goal: '>= 0.8×',
      measured: againstBearer.map((row) => `${row.value.toFixed(2)}× @${row.connections}`).join(', '),
      met: Math.min(...againstBearer.map((row) => row.value)) >= 0.8,
    });
  }
  ratioCheck('introspect', 'introspection vs baseline', 1.0);
  ratioCheck('phantom', 'phantom trade vs own JWT introspection', 1.0);
  ratioCheck('exchange', 'token exchange vs own private_key_jwt', 0.6);
  ratioCheck('txn', 'Transaction Token vs own token exchange', 1.0);
  ratioCheck('cc-secret-many', 'token throughput across many clients vs one (item 3)', 0.9);
  if (argon2) ratioCheck('login', `login flows vs argon2 limit (${argon2.verifyPerSecond.toFixed(0)}/s)`, 0.8);
  const at64 = ours.filter((r) => r.connections === 64 && r.unit === 'request');
  if (at64.length) {
    const worst = at64.reduce((a, b) => (b.latencyMs.p99 > a.latencyMs.p99 ? b : a));
    checks.push({ target: 'p99 at 64 connections (request scenarios)', goal: '<= 25 ms', measured: `worst ${worst.latencyMs.p99.toFixed(1)} ms (${worst.scenario})`, met: worst.latencyMs.p99 <= 25 });
  }
  const failures = ours.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
  checks.push({ target: 'errors', goal: '0', measured: `${failures} non-2xx/errors`, met: failures === 0 });
  if (ours.length) {
    const rss = Math.max(...ours.map((r) => r.peakRssMiB));
    checks.push({ target: 'RSS per worker under load', goal: '<= 256 MiB', measured: `${rss.toFixed(0)} MiB peak`, met: rss <= 256 });
  }
  if (footprint) {
    const bytes = (label: string, value: number | undefined, limit: number) =>
      checks.push({ target: `Redis ${label}`, goal: `<= ${limit} B`, measured: value === undefined ? 'not sampled' : `${value.toFixed(0)} B`, met: value === undefined ? undefined : value <= limit });
    bytes('per session', footprint.bytesPerSession, 2048);
    bytes('per refresh token', footprint.bytesPerRefreshToken, 2048);
    bytes('per revoked jti', footprint.bytesPerRevokedJti, 150);
  }
  return checks;
}

/** A warning when something else kept the machine busy while we measured. */
export function contentionWarning(records: RunRecord[]): string | undefined {
  if (!records.length) return undefined;
  const other = records.reduce((sum, r) => sum + r.otherCpuCores * r.seconds, 0) / records.reduce((sum, r) => sum + r.seconds, 0);
  const worst = Math.max(...records.map((r) => r.otherCpuCores));
  if (other < 0.25) return undefined;
  return (
    `**Warning: the machine was not idle.** Other processes used ${other.toFixed(2)} cores on average during the measured runs ` +
    `(worst ${worst.toFixed(2)}), so ok/s and latencies are depressed and noisy; CPU µs/op and the CPU ratio are the steadier comparison.`
  );
}

export function targetsTable(checks: TargetCheck[]): string {
  const lines = ['| target | goal | measured | met |', '| --- | --- | --- | --- |'];
  for (const c of checks) lines.push(`| ${c.target} | ${c.goal} | ${c.measured} | ${c.met === undefined ? '?' : c.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

export function footprintTable(footprint: RedisFootprint): string {
  const lines = ['| key class | keys | sampled | mean bytes | notes |', '| --- | ---: | ---: | ---: | --- |'];
  for (const [name, entry] of Object.entries(footprint.classes)) {
    const notes = [
      entry.meanMembers === undefined ? '' : `${entry.meanMembers.toFixed(1)} members`,
      entry.consumedShare === undefined ? '' : `${(entry.consumedShare * 100).toFixed(0)}% consumed`,
    ].filter(Boolean);
    lines.push(`| ${name} | ${entry.keys} | ${entry.sampled} | ${entry.meanBytes.toFixed(0)} | ${notes.join(', ')} |`);
  }
  return lines.join('\n');
}

/** Redis round trips per operation, by command, once per scenario. */
export function redisTripsTable(records: RunRecord[]): string | undefined {
  const rows = new Map<string, RunRecord>();
  for (const r of records) if (r.redis && !rows.has(`${r.target}|${r.scenario}`)) rows.set(`${r.target}|${r.scenario}`, r);
  if (!rows.size) return undefined;
  const lines = ['| scenario | server | round trips/op | commands inside scripts/op | by command (per op) |', '| --- | --- | ---: | ---: | --- |'];
  for (const r of rows.values()) {
    const commands = Object.entries(r.redis!.byCommand)
      .sort((a, b) => b[1] - a[1])
      .map(([name, count]) => `${name} ${count.toFixed(count < 10 ? 2 : 0)}`)
      .join(', ');
    lines.push(`| ${r.scenario} | ${targetShort[r.target]} | ${r.redis!.roundTripsPerOp.toFixed(2)} | ${r.redis!.scriptCommandsPerOp.toFixed(1)} | ${commands} |`);
  }
  return lines.join('\n');
}
