// Resource use around one measured run: CPU seconds of the server process (and of Redis and
// Postgres when the server uses them), of this load generator, and of the whole machine (so
// CPU used by anything else on the box shows up), plus the server's peak RSS, sampled.
import { machineCpuSeconds, processCpuSeconds, processTree, rssBytes } from './proc.js';

export interface Usage {
  seconds: number;
  /** CPU of the server's process tree (a cluster primary and its workers). */
  serverCpuSeconds: number;
  /** Processes in the server's tree (1, or the primary + its workers). */
  serverProcesses: number;
  /** Redis + Postgres processes, when the target uses them. */
  storesCpuSeconds: number | undefined;
  loadgenCpuSeconds: number;
  machineBusySeconds: number;
  /** Highest RSS of any one server process, sampled every 100 ms, bytes. */
  peakRssBytes: number;
  /** Highest sum of the RSS of the server's processes, bytes. */
  peakTotalRssBytes: number;
}

function cpuOf(pids: readonly number[]): Map<number, number> {
  const map = new Map<number, number>();
  for (const pid of pids) {
    const value = processCpuSeconds(pid);
    if (value !== undefined) map.set(pid, value);
  }
  return map;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

export async function withUsage<T>(
  serverPid: number,
  storePids: (() => Promise<number[]>) | undefined,
  fn: () => Promise<T>,
): Promise<{ result: T; usage: Usage }> {
  const tree = processTree(serverPid);
  const storesBefore = storePids ? cpuOf(await storePids()) : undefined;
  const serverBefore = cpuOf(tree);
  const machineBefore = machineCpuSeconds().busy;
  const loadgenBefore = process.cpuUsage();
  const started = performance.now();
  let peak = 0;
  let peakTotal = 0;
  const sample = () => {
    const sizes = tree.map((pid) => rssBytes(pid) ?? 0);
    peak = Math.max(peak, ...sizes);
    peakTotal = Math.max(peakTotal, sum(sizes));
  };
  sample();
  const sampler = setInterval(sample, 100);
  try {
    const result = await fn();
    const seconds = (performance.now() - started) / 1000;
    const loadgen = process.cpuUsage(loadgenBefore);
    const machineBusySeconds = machineCpuSeconds().busy - machineBefore;
    let serverCpuSeconds = 0;
    for (const [pid, after] of cpuOf(tree)) serverCpuSeconds += after - (serverBefore.get(pid) ?? after);
    sample();
    let storesCpuSeconds: number | undefined;
    if (storePids && storesBefore) {
      storesCpuSeconds = 0;
      // A backend started during the run counts from zero.
      for (const [pid, after] of cpuOf(await storePids())) storesCpuSeconds += after - (storesBefore.get(pid) ?? 0);
    }
    return {
      result,
      usage: {
        seconds,
        serverCpuSeconds,
        serverProcesses: tree.length,
        storesCpuSeconds,
        loadgenCpuSeconds: (loadgen.user + loadgen.system) / 1e6,
        machineBusySeconds,
        peakRssBytes: peak,
        peakTotalRssBytes: peakTotal,
      },
    };
  } finally {
    clearInterval(sampler);
  }
}
