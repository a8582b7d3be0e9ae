// `npm start`: read the environment, then either run the server in this process or, with
// WORKERS > 1, be the primary of a node:cluster that keeps WORKERS server processes on one port.
// Stops cleanly on SIGTERM / SIGINT.
import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createLogger, type Logger } from './log.js';
import { startServer } from './server.js';

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`portcullis: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

function onStopSignal(stop: (signal: string) => void): void {
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function runServer(config: Config, log: Logger): Promise<void> {
  const server = await startServer(config, log).catch((error: unknown) => {
    log.fatal({ err: error }, 'could not start');
    process.exit(1);
  });
  let stopping = false;
  onStopSignal((signal) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
    setTimeout(() => process.exit(1), 10_000).unref();
  });
}

// The primary only supervises: a worker that dies unexpectedly is replaced (at most once a
// second), and a stop signal is passed on to every worker.
function runPrimary(config: Config, log: Logger): void {
  let stopping = false;
  let lastFork = 0;
  const fork = (): void => {
    lastFork = Date.now();
    cluster.fork();
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, 'worker exited; starting another');
    setTimeout(fork, Math.max(0, 1_000 - (Date.now() - lastFork))).unref();
  });
  for (let i = 0; i < config.workers; i += 1) fork();
  log.info({ workers: config.workers }, 'started workers');
  onStopSignal((signal) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), 15_000).unref();
  });
}

const config = readConfig();
const log = createLogger(config.logLevel);
if (config.workers > 1 && cluster.isPrimary) runPrimary(config, log);
else await runServer(config, log);
