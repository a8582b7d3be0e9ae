// The HTTP server: bounded timeouts for slow clients, a start-up error that names PORT when the
// address cannot be taken, and a close that ends long-lived streams instead of waiting on them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { StartupError } from '../startup-error.js';

export interface Listening {
  readonly port: number;
  /** Stops accepting, lets requests in flight finish (5 s at most), then resolves. */
  close(): Promise<void>;
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): StartupError {
  const where = `${host}:${port}`;
  const problem =
    error.code === 'EADDRINUSE'
      ? `${where} is already in use`
      : error.code === 'EACCES'
        ? `not allowed to listen on ${where}`
        : `cannot listen on ${where}: ${error.message}`;
  return new StartupError('PORT', problem, { retryable: error.code === 'EADDRINUSE', cause: error });
}

export async function listen(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  options: { host: string; port: number; beforeClose?: () => void },
): Promise<Listening> {
  const server = http.createServer(handle);
  // Slow clients must not hold sockets forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, options.host, options.port)));
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        // Streams that never end on their own (the revocation feed) are ended first.
        options.beforeClose?.();
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      }),
  };
}
