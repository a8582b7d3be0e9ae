// The browser's part of the authorization code flow over plain HTTP, then the code redemption:
// authorize → (303) login page → login POST → (303s) consent page → consent POST → (303s) the
// client's redirect URI with a code → token. One cookie jar per flow, as one browser per user.
// It reads whatever form the page shows, so it drives both Portcullis' pages (CSRF field,
// `username`, `decision=allow`) and oidc-provider's devInteractions (`prompt`, `login`).
import crypto from 'node:crypto';
import { apis, basicAuth, callback, clientIds, loginScope, userPassword } from './fixtures.js';
import { form, formHeaders, type HttpClient, type HttpResponse } from './http.js';

class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(response: HttpResponse): void {
    for (const header of response.headers['set-cookie'] ?? []) {
      const pair = header.split(';', 1)[0]!;
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(header)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return match ? decodeEntities(match[1]!) : undefined;
}

/** The first POST form on the page: its action and hidden fields. */
function readForm(html: string): { action: string; fields: Record<string, string> } | undefined {
  const formTag = /<form\b[^>]*method="post"[^>]*>/i.exec(html)?.[0] ?? /<form\b[^>]*>/i.exec(html)?.[0];
  if (!formTag) return undefined;
  const fields: Record<string, string> = {};
  for (const [input] of html.matchAll(/<input\b[^>]*>/gi)) {
    if (attribute(input, 'type') !== 'hidden') continue;
    const name = attribute(input, 'name');
    if (name) fields[name] = attribute(input, 'value') ?? '';
  }
  return { action: attribute(formTag, 'action') ?? '', fields };
}

export interface FlowResult {
  refreshToken: string;
  accessToken: string;
  /** HTTP requests this flow made. */
  requests: number;
}

export interface FlowOptions {
  client: HttpClient;
  issuer: string;
  webSecret: string;
  username: string;
}

export async function runLoginFlow({ client, issuer, webSecret, username }: FlowOptions): Promise<FlowResult> {
  const jar = new CookieJar();
  let requests = 0;
  const send = async (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
    requests += 1;
    const cookie = jar.header();
    const response = await client.request(url, { ...init, headers: { ...init.headers, ...(cookie ? { cookie } : {}) } });
    jar.store(response);
    return response;
  };

  const verifier = crypto.randomBytes(32).toString('base64url');
  const authorize = new URL(`${issuer}/auth`);
  authorize.search = new URLSearchParams({
    client_id: clientIds.web,
    response_type: 'code',
    redirect_uri: callback,
    scope: loginScope,
    resource: apis.main.identifier,
    // OpenID Connect Core §11: refresh tokens (offline_access) need prompt=consent.
    prompt: 'consent',
    state: crypto.randomBytes(8).toString('base64url'),
    nonce: crypto.randomBytes(8).toString('base64url'),
    code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();

  let url = authorize.href;
  let response = await send(url);
  let code: string | undefined;
  for (let step = 0; step < 16 && code === undefined; step += 1) {
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(String(response.headers.location), url).href;
      if (location.startsWith(callback)) {
        const redirect = new URL(location);
        const error = redirect.searchParams.get('error');
        if (error) throw new Error(`authorization error ${error}: ${redirect.searchParams.get('error_description')}`);
        code = redirect.searchParams.get('code') ?? undefined;
        if (!code) throw new Error(`no code in ${location}`);
        break;
      }
      url = location;
      response = await send(url);
      continue;
    }
    const page = response.status === 200 ? readForm(response.body) : undefined;
    if (!page) throw new Error(`unexpected ${response.status} at ${new URL(url).pathname}: ${response.body.slice(0, 200)}`);
    const fields = { ...page.fields };
    if (/name="password"/.test(response.body)) {
      // Portcullis names the field `username`, devInteractions `login`.
      fields[/name="username"/.test(response.body) ? 'username' : 'login'] = username;
      fields.password = userPassword;
    } else if (/name="decision"/.test(response.body)) {
      fields.decision = 'allow';
    }
    url = new URL(page.action || url, url).href;
    response = await send(url, { method: 'POST', headers: formHeaders, body: form(fields) });
  }
  if (!code) throw new Error('the flow did not reach the redirect URI');

  const token = await send(`${issuer}/token`, {
    method: 'POST',
    headers: { ...formHeaders, authorization: basicAuth(clientIds.web, webSecret) },
    body: form({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: callback,
      resource: apis.main.identifier,
    }),
  });
  if (token.status !== 200) throw new Error(`code redemption: ${token.status} ${token.body.slice(0, 200)}`);
  const body = JSON.parse(token.body) as { refresh_token?: string; access_token?: string };
  if (!body.refresh_token || !body.access_token) throw new Error(`code redemption without tokens: ${token.body.slice(0, 200)}`);
  return { refreshToken: body.refresh_token, accessToken: body.access_token, requests };
}
