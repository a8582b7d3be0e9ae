// A real Redis Cluster for tests: three masters, no replicas, each a `redis-server` child process
// on free loopback ports with its files in a temp directory. stop() kills them and removes the
// directory; an exit hook kills them too if a test run dies before calling it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis, type Cluster } from 'ioredis';
import { scanRedisKeys } from './stores.js';

const run = promisify(execFile);
const masters = 3;
/** Longest wait for a node to answer, and for the cluster to report cluster_state:ok (ms). */
const readyTimeoutMs = 20_000;

export interface RedisClusterHandle {
  /** REDIS_URL for it: the comma-separated seeds. */
  readonly url: string;
  readonly ports: readonly number[];
  /** Kills every node, keeping their cluster configuration (an outage). */
  takeDown(): Promise<void>;
  /** Starts the nodes again on the same ports; resolves once the cluster is ok again. */
  bringUp(): Promise<void>;
  /** Kills every node and removes the directory. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A port nothing listens on right now (the OS picks it; it is closed again at once). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Probes until it answers; gives up when `gone` says why (a node exited) or after the timeout. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, gone?: () => string | undefined): Promise<T> {
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const result = await probe().catch(() => undefined);
    if (result !== undefined) return result;
    const reason = gone?.();
    if (reason) throw new Error(`redis cluster: ${what}: ${reason}`);
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A plain connection to one node that fails instead of retrying (for probes). */
function probeNode(port: number): Redis {
  const node = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  node.on('error', () => {}); // a node still starting refuses the connection: probed again
  return node;
}

async function onNode<T>(port: number, fn: (node: Redis) => Promise<T>): Promise<T> {
  const node = probeNode(port);
  try {
    await node.connect();
    return await fn(node);
  } finally {
    node.disconnect();
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  running.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-redis-cluster-'));
  dirs.add(dir);
  // Each node needs a client port and a cluster bus port (given explicitly, not port + 10000).
  const allPorts = await freePorts(masters * 2);
  const ports = allPorts.slice(0, masters);
  const busPorts = allPorts.slice(masters);
  let children: ChildProcess[] = [];

  function startNode(port: number, index: number): ChildProcess {
    const child = spawn(
      'redis-server',
      [
        '--port', String(port),
        '--cluster-port', String(busPorts[index]),
        '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', '5000',
        '--save', '',
        '--appendonly', 'no',
        '--daemonize', 'no',
        '--dir', dir,
        '--logfile', path.join(dir, `redis-${port}.log`),
      ],
      { stdio: 'ignore' },
    );
    running.add(child);
    child.once('exit', () => running.delete(child));
    child.once('error', () => running.delete(child)); // not started (no redis-server): reported by startNodes
    return child;
  }

  async function startNodes(): Promise<void> {
    children = ports.map(startNode);
    await Promise.all(
      children.map((child, index) => {
        const port = ports[index] as number;
        const gone = () => (child.exitCode !== null || child.pid === undefined ? 'redis-server exited (see its log)' : undefined);
        return waitFor(`node ${port}`, () => onNode(port, (node) => node.ping()), gone);
      }),
    );
  }

  async function waitUntilOk(): Promise<void> {
    for (const port of ports) {
      await waitFor(`cluster_state:ok on ${port}`, () =>
        onNode(port, async (node) => {
          const info = await node.cluster('INFO');
          return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(info)
            ? true
            : undefined;
        }),
      );
    }
  }

  async function takeDown(): Promise<void> {
    await Promise.all(children.map(stopChild));
  }

  async function stop(): Promise<void> {
    await takeDown();
    await fs.rm(dir, { recursive: true, force: true });
    dirs.delete(dir);
  }

  try {
    await startNodes();
    await run('redis-cli', [
      '--cluster', 'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas', '0',
      '--cluster-yes',
    ]);
    await waitUntilOk();
  } catch (error) {
    const logs = await Promise.all(
      ports.map((port) => fs.readFile(path.join(dir, `redis-${port}.log`), 'utf8').catch(() => '')),
    );
    await stop();
    throw new Error(`redis cluster did not start: ${String(error)}\n${logs.join('\n').slice(-2_000)}`, { cause: error });
  }

  return {
    url: ports.map((port) => `redis://127.0.0.1:${port}`).join(','),
    ports,
    takeDown,
    async bringUp() {
      await startNodes();
      await waitUntilOk();
    },
    stop,
  };
}

/** Every key under prefix on every master of the cluster (SCAN is per node). */
export async function scanClusterKeys(cluster: Cluster, prefix: string): Promise<string[]> {
  const perNode = await Promise.all(cluster.nodes('master').map((node) => scanRedisKeys(node, prefix)));
  return perNode.flat();
}

/** The errors each master has answered, by kind (`INFO errorstats`: CROSSSLOT, NOSCRIPT, ERR…). */
export async function clusterErrorCounts(cluster: Cluster): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const node of cluster.nodes('master')) {
    const info = await node.info('errorstats');
    for (const [, kind, count] of info.matchAll(/^errorstat_([^:]+):count=(\d+)/gm)) {
      counts.set(kind as string, (counts.get(kind as string) ?? 0) + Number(count));
    }
  }
  return counts;
}

/** The slot Redis Cluster assigns to key (asked of the cluster, not computed here). */
export async function keySlot(cluster: Cluster, key: string): Promise<number> {
  return Number(await cluster.cluster('KEYSLOT', key));
}
