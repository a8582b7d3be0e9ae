// Summaries of a V8 .cpuprofile (`node --cpu-prof`): self time per function and per package,
// with idle time left out, so "what dominates" reads off the top rows.
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  busyMs: number;
  topFunctions: { name: string; where: string; selfMs: number; share: number }[];
  byPackage: { name: string; selfMs: number; share: number }[];
  /** Portcullis' own functions by total time (self + what they call synchronously). */
  portcullisInclusive: { name: string; where: string; totalMs: number; share: number }[];
}

function where(url: string, repoRoot: string): string {
  if (!url) return '';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const modules = file.lastIndexOf('/node_modules/');
  if (modules !== -1) return file.slice(modules + '/node_modules/'.length);
  return file.startsWith(repoRoot) ? path.relative(repoRoot, file) : file;
}

function packageOf(location: string, name: string): string {
  if (!location) return name.startsWith('(') ? name : '(native / V8)';
  if (location.startsWith('node:')) return 'node: internals';
  if (location.startsWith('dist/') || location.startsWith('src/')) return `portcullis ${location.split('/').slice(0, 2).join('/')}`;
  if (location.startsWith('bench/')) return 'bench/baseline';
  const parts = location.split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

export function summariseProfile(file: string, repoRoot: string, top = 25): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time between sample i-1 and sample i: charge it to sample i-1's node.
  for (let index = 0; index < profile.samples.length - 1; index += 1) {
    const id = profile.samples[index]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index + 1] ?? 0));
  }
  const functions = new Map<string, { name: string; where: string; selfUs: number }>();
  const packages = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') continue;
    busyUs += us;
    const location = where(node.callFrame.url, repoRoot);
    const key = `${name}@${location}:${node.callFrame.lineNumber}`;
    const entry = functions.get(key) ?? { name, where: location ? `${location}:${node.callFrame.lineNumber + 1}` : '', selfUs: 0 };
    entry.selfUs += us;
    functions.set(key, entry);
    const pkg = packageOf(location, name);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const share = (us: number) => (busyUs ? us / busyUs : 0);
  // Inclusive time of Portcullis' functions: each node's subtree, counted once per function
  // even when it recurses (a node below another of the same function is not added again).
  const total = new Map<number, number>();
  const totalOf = (id: number): number => {
    const known = total.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const value = (self.get(id) ?? 0) + (node?.children ?? []).reduce((sum, child) => sum + totalOf(child), 0);
    total.set(id, value);
    return value;
  };
  const inclusive = new Map<string, { name: string; where: string; totalUs: number }>();
  const visit = (id: number, open: Set<string>) => {
    const node = byId.get(id);
    if (!node) return;
    const location = where(node.callFrame.url, repoRoot);
    const ours = location.startsWith('dist/') || location.startsWith('src/');
    const key = `${node.callFrame.functionName || '(anonymous)'}@${location}:${node.callFrame.lineNumber}`;
    let next = open;
    if (ours && !open.has(key)) {
      const entry = inclusive.get(key) ?? { name: node.callFrame.functionName || '(anonymous)', where: `${location}:${node.callFrame.lineNumber + 1}`, totalUs: 0 };
      entry.totalUs += totalOf(id);
      inclusive.set(key, entry);
      next = new Set(open).add(key);
    }
    for (const child of node.children ?? []) visit(child, next);
  };
  const childIds = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  for (const node of profile.nodes) if (!childIds.has(node.id)) visit(node.id, new Set());
  return {
    file,
    busyMs: busyUs / 1000,
    topFunctions: [...functions.values()]
      .sort((a, b) => b.selfUs - a.selfUs)
      .slice(0, top)
      .map((entry) => ({ name: entry.name, where: entry.where, selfMs: entry.selfUs / 1000, share: share(entry.selfUs) })),
    byPackage: [...packages]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: share(us) })),
    portcullisInclusive: [...inclusive.values()]
      .sort((a, b) => b.totalUs - a.totalUs)
      .slice(0, 15)
      .map((entry) => ({ name: entry.name, where: entry.where, totalMs: entry.totalUs / 1000, share: share(entry.totalUs) })),
  };
}

export function profileMarkdown(label: string, summary: ProfileSummary): string {
  const lines = [
    `#### ${label}: ${summary.busyMs.toFixed(0)} ms busy (${path.basename(summary.file)})`,
    '',
    '| self % | self ms | function | where |',
    '| ---: | ---: | --- | --- |',
    ...summary.topFunctions.map((f) => `| ${(f.share * 100).toFixed(1)} | ${f.selfMs.toFixed(0)} | ${f.name} | ${f.where} |`),
    '',
    '| self % | package |',
    '| ---: | --- |',
    ...summary.byPackage.map((p) => `| ${(p.share * 100).toFixed(1)} | ${p.name} |`),
    ...(summary.portcullisInclusive.length
      ? [
          '',
          'Portcullis functions by total time (self + synchronous callees; async continuations count where they resume):',
          '',
          '| total % | total ms | function | where |',
          '| ---: | ---: | --- | --- |',
          ...summary.portcullisInclusive.map((f) => `| ${(f.share * 100).toFixed(1)} | ${f.totalMs.toFixed(0)} | ${f.name} | ${f.where} |`),
        ]
      : []),
  ];
  return lines.join('\n');
}
