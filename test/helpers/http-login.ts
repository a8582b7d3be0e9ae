// The browser's part of the authorization code flow, over plain HTTP: follow redirects by hand
// with a cookie jar, post the login and consent forms (with their CSRF tokens), and stop at the
// client's redirect URI. For tests that need a code but not a browser.
import crypto from 'node:crypto';

export interface AuthorizationRequest {
  url: string;
  /** The PKCE code verifier (RFC 7636 §4.1), to redeem the code with. */
  verifier: string;
}

/**
 * An authorization code request (RFC 6749 §4.1.1) for scope openid with a fresh S256 PKCE
 * challenge (RFC 7636 §4.2); params add to or override the defaults (scope, resource, ...).
 */
export function authorizationRequest(issuer: string, clientId: string, redirectUri: string, params: Record<string, string> = {}): AuthorizationRequest {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...params,
  }).toString();
  return { url: url.href, verifier };
}

/** The interaction id in a login or consent page's URL (/interaction/<uid>). */
export function interactionUid(page: FlowStep): string | undefined {
  return /\/interaction\/([^/?#]+)/.exec(page.url)?.[1];
}

export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(header) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

export interface FlowStep {
  status: number;
  url: string;
  location: string | undefined;
  body: string;
  headers: Headers;
}

function formField(html: string, name: string): string | undefined {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  return match?.[1]?.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}

export class BrowserlessUser {
  readonly jar = new CookieJar();

  /** headers: sent with every request (e.g. X-Forwarded-For, to be a client at another address). */
  constructor(
    private readonly stopAt: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async request(url: string, init: RequestInit = {}): Promise<FlowStep> {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...this.headers, ...(init.headers as Record<string, string>), cookie: this.jar.header() },
    });
    this.jar.store(response);
    const location = response.headers.get('location') ?? undefined;
    return {
      status: response.status,
      url,
      location: location && new URL(location, url).href,
      body: await response.text(),
      headers: response.headers,
    };
  }

  /** Follows redirects until a page is shown or the client's redirect URI is reached. */
  async follow(step: FlowStep): Promise<FlowStep> {
    let current = step;
    for (let hops = 0; current.location && hops < 10; hops += 1) {
      if (current.location.startsWith(this.stopAt)) return current;
      current = await this.request(current.location);
    }
    return current;
  }

  async open(url: string): Promise<FlowStep> {
    return this.follow(await this.request(url));
  }

  async submit(page: FlowStep, action: string, fields: Record<string, string>): Promise<FlowStep> {
    const csrf = formField(page.body, 'csrf');
    if (!csrf) throw new Error(`no CSRF field on the page at ${page.url}`);
    const response = await this.request(new URL(action, page.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, ...fields }).toString(),
    });
    return response.status === 303 ? this.follow(response) : response;
  }

  /** From the authorization URL to the redirect back to the client, logging in and consenting. */
  async authorize(authorizationUrl: string, username: string, password: string): Promise<URL> {
    let page = await this.open(authorizationUrl);
    for (let steps = 0; steps < 4; steps += 1) {
      if (page.location?.startsWith(this.stopAt)) return new URL(page.location);
      const uid = interactionUid(page);
      if (!uid) throw new Error(`unexpected page ${page.status} at ${page.url}: ${page.body.slice(0, 200)}`);
      page = page.body.includes('name="password"')
        ? await this.submit(page, `/interaction/${uid}/login`, { username, password })
        : await this.submit(page, `/interaction/${uid}/consent`, { decision: 'allow' });
    }
    throw new Error('the flow did not return to the client');
  }
}
