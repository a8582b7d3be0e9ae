// The admin API as functions: JSON in and out, the Bearer token fetched once per run, and
// lists read to the end by following `next_cursor`.
import { requestAdminToken, type ClientCredentials } from './admin-token.js';
import { CliError } from './errors.js';
import { exchange } from './http.js';

export interface Connection {
  /** Without a trailing slash. */
  issuer: string;
  token?: string;
  credentials?: ClientCredentials;
}

export interface AdminClient {
  readonly issuer: string;
  accessToken(): Promise<string>;
  get(path: string): Promise<unknown>;
  post(path: string, body?: unknown): Promise<unknown>;
  put(path: string, body: unknown): Promise<unknown>;
  delete(path: string): Promise<void>;
  /** Every item of a paged list, in server order. */
  listAll(path: string): Promise<unknown[]>;
}

const pageSize = 200; // the admin API's largest page

interface Page {
  items: unknown[];
  next_cursor: string | null;
}

function isPage(body: unknown): body is Page {
  const page = body as Partial<Page> | undefined;
  return Array.isArray(page?.items) && (page.next_cursor === null || typeof page.next_cursor === 'string');
}

export function createAdminClient(connection: Connection): AdminClient {
  const { issuer } = connection;
  let token: Promise<string> | undefined;

  function accessToken(): Promise<string> {
    if (connection.token) return Promise.resolve(connection.token);
    if (!connection.credentials) throw new CliError('no admin credentials');
    token ??= requestAdminToken(issuer, connection.credentials);
    return token;
  }

  async function call(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${await accessToken()}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const answer = await exchange(issuer, `${issuer}/admin${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return answer.body;
  }

  async function listAll(path: string): Promise<unknown[]> {
    const items: unknown[] = [];
    const seen = new Set<string>();
    let after: string | null = null;
    do {
      const query = new URLSearchParams({ limit: String(pageSize) });
      if (after !== null) query.set('after', after);
      const page = await call('GET', `${path}?${query}`);
      if (!isPage(page)) throw new CliError(`the issuer at ${issuer} answered ${path} with something that is not a list`);
      items.push(...page.items);
      after = page.next_cursor;
      // A cursor that comes back again would loop forever; stop loudly instead.
      if (after !== null && seen.has(after)) throw new CliError(`the issuer at ${issuer} repeated a list cursor`);
      if (after !== null) seen.add(after);
    } while (after !== null);
    return items;
  }

  return {
    issuer,
    accessToken,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    put: (path, body) => call('PUT', path, body),
    delete: async (path) => {
      await call('DELETE', path);
    },
    listAll,
  };
}
