// A small keep-alive HTTP client on node:http for set-up calls and the login-flow driver: cheaper
// per request than fetch, so the driver is not what limits flows per second. Loopback only.
import http from 'node:http';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpClient {
  request(url: string, options?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<HttpResponse>;
  close(): void;
}

export function createHttpClient(options: { maxSockets?: number; timeoutMs?: number } = {}): HttpClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    request(url, { method = 'GET', headers = {}, body } = {}) {
      const target = new URL(url);
      if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost') {
        return Promise.reject(new Error(`refusing to send load to ${target.host}: loopback only`));
      }
      return new Promise<HttpResponse>((resolve, reject) => {
        const req = http.request(
          {
            agent,
            method,
            hostname: target.hostname,
            port: target.port,
            path: `${target.pathname}${target.search}`,
            headers: body === undefined ? headers : { 'content-length': String(Buffer.byteLength(body)), ...headers },
            timeout: timeoutMs,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`${method} ${target.pathname}: no answer within ${timeoutMs} ms`)));
        req.on('error', reject);
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

export const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

export function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

/** POST a form and parse the JSON answer; throws with the body when the status is not 2xx. */
export async function postJson(
  client: HttpClient,
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const response = await client.request(url, { method: 'POST', headers: { ...formHeaders, ...headers }, body: form(fields) });
  if (response.status < 200 || response.status > 299) throw new Error(`POST ${new URL(url).pathname}: ${response.status} ${response.body.slice(0, 300)}`);
  return JSON.parse(response.body) as Record<string, unknown>;
}
