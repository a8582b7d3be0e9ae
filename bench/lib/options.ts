// Command-line options of `npm run bench -- [options]`.
import type { ScenarioId } from './scenarios.js';

export interface BenchOptions {
  quick: boolean;
  seconds: number;
  warmupSeconds: number;
  connections: number[];
  workers: number;
  serverEnv: Record<string, string>;
  seedClients: number;
  seedUsers: number;
  scenarios: ScenarioId[] | undefined;
  embedded: boolean;
  scale: boolean;
  profile: boolean;
  useTsx: boolean;
  build: boolean;
  pgUrl: string;
  redisUrl: string;
  outDir: string | undefined;
}

export const usage = `npm run bench -- [options]

  --quick               short run for development (3 s per run, 1 s warm-up)
  --duration <s>        measured seconds per run (default 15; --quick 3)
  --warmup <s>          unmeasured seconds before each run (default 5; --quick 1)
  --connections <list>  connection counts, comma-separated (default 16,64)
  --workers <n>         server processes per server (Portcullis WORKERS, a node:cluster for the
                        baseline); default 1. The embedded Portcullis always runs one.
  --env NAME=VALUE      extra environment for Portcullis (repeatable), e.g. --env LOG_LEVEL=warn
  --scenarios <list>    any of cc-secret,cc-dpop,cc-pkjwt,exchange,txn,introspect,phantom,introspect-opaque,refresh,login,cc-secret-many
  --seed-clients <n>    add n clients to Portcullis' Postgres database (SQL copies of a fixture); the
                        cc-secret-many scenario then spreads client_credentials over all of them
  --seed-users <n>      add n users likewise; Portcullis' login flows then pick among them
  --embedded            also run Portcullis on its embedded default (PGlite, no Redis)
  --scale               instead of the comparison: Portcullis alone with 10, 10k and 100k clients and
                        10, 100k and 1M users seeded in turn, cc-secret-many and login at the first
                        --connections count, throughput compared across the steps (issue 7, item 3)
  --profile             run the servers with --cpu-prof and summarise self time per function
  --tsx                 run Portcullis from src/ through tsx instead of the compiled dist/
  --no-build            use dist/ as it is (default: npm run build first)
  --pg-url <url>        Postgres server for the fresh database (default postgres://postgres@127.0.0.1:5432/postgres)
  --redis-url <url>     Redis server (default redis://127.0.0.1:6379)
  --out <dir>           where results go (default bench/results)
`;

const scenarioIds: readonly ScenarioId[] = ['cc-secret', 'cc-dpop', 'cc-pkjwt', 'exchange', 'txn', 'introspect', 'phantom', 'introspect-opaque', 'refresh', 'login', 'cc-secret-many'];

function positive(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!raw || !Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number`);
  return value;
}

function loopbackUrl(name: string, raw: string | undefined): string {
  if (!raw) throw new Error(`${name} needs a URL`);
  const { hostname } = new URL(raw);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) throw new Error(`${name}: the benchmark only uses local services`);
  return raw;
}

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const options: BenchOptions = {
    quick: false,
    seconds: 15,
    warmupSeconds: 5,
    connections: [16, 64],
    workers: 1,
    serverEnv: {},
    seedClients: 0,
    seedUsers: 0,
    scenarios: undefined,
    embedded: false,
    scale: false,
    profile: false,
    useTsx: false,
    build: true,
    pgUrl: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    outDir: undefined,
  };
  let seconds: number | undefined;
  let warmup: number | undefined;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    const value = () => argv[++index];
    switch (arg) {
      case '--help':
      case '-h':
        return 'help';
      case '--quick':
        options.quick = true;
        break;
      case '--duration':
        seconds = positive(arg, value());
        break;
      case '--warmup':
        warmup = Number(value());
        if (!Number.isFinite(warmup) || warmup < 0) throw new Error('--warmup needs a number of seconds');
        break;
      case '--connections':
        options.connections = (value() ?? '').split(',').map((part) => Math.round(positive(arg, part)));
        break;
      case '--workers':
        options.workers = Math.round(positive(arg, value()));
        break;
      case '--env': {
        const pair = value() ?? '';
        const equals = pair.indexOf('=');
        if (equals <= 0) throw new Error('--env needs NAME=VALUE');
        options.serverEnv[pair.slice(0, equals)] = pair.slice(equals + 1);
        break;
      }
      case '--seed-clients':
        options.seedClients = Math.round(positive(arg, value()));
        break;
      case '--seed-users':
        options.seedUsers = Math.round(positive(arg, value()));
        break;
      case '--scenarios': {
        const list = (value() ?? '').split(',').filter(Boolean);
        for (const id of list) if (!scenarioIds.includes(id as ScenarioId)) throw new Error(`unknown scenario ${id}`);
        options.scenarios = list as ScenarioId[];
        break;
      }
      case '--embedded':
        options.embedded = true;
        break;
      case '--scale':
        options.scale = true;
        break;
      case '--profile':
        options.profile = true;
        break;
      case '--tsx':
        options.useTsx = true;
        options.build = false;
        break;
      case '--no-build':
        options.build = false;
        break;
      case '--pg-url':
        options.pgUrl = loopbackUrl(arg, value());
        break;
      case '--redis-url':
        options.redisUrl = loopbackUrl(arg, value());
        break;
      case '--out':
        options.outDir = value();
        break;
      default:
        throw new Error(`unknown option ${arg}\n\n${usage}`);
    }
  }
  options.seconds = seconds ?? (options.quick ? 3 : 15);
  options.warmupSeconds = warmup ?? (options.quick ? 1 : 5);
  loopbackUrl('--pg-url', options.pgUrl);
  loopbackUrl('--redis-url', options.redisUrl);
  return options;
}
