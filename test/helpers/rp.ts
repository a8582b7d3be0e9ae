// A relying party's redirect endpoint for browser tests: a local HTTP server that answers every
// request with a small page, so the browser lands on it and the test reads the URL.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RelyingParty {
  readonly origin: string;
  readonly callback: string;
  readonly loggedOut: string;
  close(): Promise<void>;
}

export async function startRelyingParty(): Promise<RelyingParty> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>relying party</title><p>back at the app</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    callback: `${origin}/callback`,
    loggedOut: `${origin}/logged-out`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
