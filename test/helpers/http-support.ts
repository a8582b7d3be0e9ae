// Small HTTP helpers shared by the integration tests: token requests, an admin API
// caller that records every response (so a suite can assert "no 5xx anywhere" and "no-store on
// every admin answer" at the end), and a waiter for child processes.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { adminClientId, adminClientSecret } from './server.js';

export interface JsonResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when the body is empty or not JSON. */
  json: Record<string, unknown> | undefined;
}

export interface RecordedResponse {
  method: string;
  path: string;
  status: number;
  cacheControl: string | null;
}

/** Every response a recorder saw; check them in an after() hook. */
export class ResponseLog {
  readonly entries: RecordedResponse[] = [];

  record(method: string, path: string, response: Response): void {
    this.entries.push({ method, path, status: response.status, cacheControl: response.headers.get('cache-control') });
  }

  assertNoServerErrors(): void {
    const failures = this.entries.filter((entry) => entry.status >= 500);
    assert.deepEqual(failures, [], 'no request may be answered with a 5xx');
  }
}

export async function readResponse(response: Response): Promise<JsonResponse> {
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    json = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export function basicAuth(clientId: string, secret: string): string {
  // RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

export interface TokenRequest {
  clientId: string;
  clientSecret: string;
  /** client_secret_basic (default) or client_secret_post. */
  method?: 'basic' | 'post';
  params: Record<string, string | string[]>;
  /** Sent as well (a DPoP proof, say). */
  headers?: Record<string, string>;
  log?: ResponseLog;
}

export async function requestToken(baseUrl: string, request: TokenRequest): Promise<JsonResponse> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(request.params)) {
    for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
  }
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...request.headers };
  if (request.method === 'post') {
    body.set('client_id', request.clientId);
    body.set('client_secret', request.clientSecret);
  } else {
    headers.authorization = basicAuth(request.clientId, request.clientSecret);
  }
  const response = await fetch(`${baseUrl}/token`, { method: 'POST', headers, body });
  request.log?.record('POST', '/token', response);
  return readResponse(response);
}

/** A client_credentials access token; fails the test when the server refuses. */
export async function clientCredentialsToken(
  baseUrl: string,
  request: Omit<TokenRequest, 'params'> & { params?: Record<string, string> },
): Promise<string> {
  const answer = await requestToken(baseUrl, {
    ...request,
    params: { grant_type: 'client_credentials', ...request.params },
  });
  assert.equal(answer.status, 200, `token request failed: ${answer.text}`);
  const token = answer.json?.access_token;
  assert.equal(typeof token, 'string');
  return token as string;
}

export function getAdminToken(baseUrl: string, log?: ResponseLog): Promise<string> {
  return clientCredentialsToken(baseUrl, {
    clientId: adminClientId,
    clientSecret: adminClientSecret,
    params: { scope: 'admin' },
    ...(log ? { log } : {}),
  });
}

export interface AdminCallOptions {
  token?: string | null;
  /** A JSON-serialisable body, sent as application/json. */
  json?: unknown;
  /** A raw body with its own content type. */
  raw?: { body: string; contentType: string };
  headers?: Record<string, string>;
}

export interface AdminApi {
  call(method: string, path: string, options?: AdminCallOptions): Promise<JsonResponse>;
}

/** Calls /admin with the given default token and records every answer in log. */
export function createAdminApi(baseUrl: string, defaultToken: () => string, log: ResponseLog): AdminApi {
  return {
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const token = options.token === undefined ? defaultToken() : options.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (options.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(options.json);
      } else if (options.raw) {
        headers['content-type'] = options.raw.contentType;
        body = options.raw.body;
      }
      const response = await fetch(`${baseUrl}/admin${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
      log.record(method, `/admin${path}`, response);
      return readResponse(response);
    },
  };
}

export function waitForExit(child: ChildProcess, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}
