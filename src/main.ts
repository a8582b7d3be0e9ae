// `npm start`: read the environment, then either run the server in this process or, with
// WORKERS > 1, be the primary of a node:cluster that keeps WORKERS server processes on one port
// (src/cluster/supervisor.ts). Stops cleanly on SIGTERM / SIGINT. A start that fails prints one
// line naming the setting or file at fault (the stack only at LOG_LEVEL=debug) and exits non-zero.
import cluster from 'node:cluster';
import { tellPrimary } from './cluster/worker-messages.js';
import { superviseWorkers } from './cluster/supervisor.js';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createLogger, type Logger } from './log.js';
import { startServer } from './server.js';
import { isRetryable, startupFailureLine } from './startup-error.js';

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

/** Ends a failed start: one line (by the primary, in a cluster), the stack only when debugging. */
async function failStart(error: unknown, log: Logger): Promise<never> {
  const line = startupFailureLine(error);
  log.debug({ err: error }, 'start-up failure');
  if (cluster.isWorker) await tellPrimary({ portcullis: 'startup-failed', line, retryable: isRetryable(error) });
  else process.stderr.write(`portcullis: could not start: ${line}\n`);
  process.exit(1);
}

async function runServer(config: Config, log: Logger): Promise<void> {
  let stopping = false;
  let stop = (): void => {
    stopping = true;
  };
  // A stop signal during start-up ends the process once the start has finished or failed.
  onStopSignal((signal) => {
    if (stopping) return;
    log.info({ signal }, 'shutting down');
    stop();
  });
  const server = await startServer(config, log).catch((error: unknown) => failStart(error, log));
  stop = () => {
    stopping = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  if (stopping) {
    stop();
    return;
  }
  if (cluster.isWorker) await tellPrimary({ portcullis: 'ready' });
}

const config = readConfig();
const log = createLogger(config.logLevel);
if (config.workers > 1 && cluster.isPrimary) superviseWorkers({ workers: config.workers, log });
else await runServer(config, log);
