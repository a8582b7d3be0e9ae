// Authorization code flows over plain HTTP, with a second factor: start an authorization request,
// sign in, enrol a TOTP authenticator, answer with codes, redeem the code for an ID token.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { decodeJwt } from 'jose';
import { generate } from 'otplib';
import { basicAuth } from './admin.js';
import { authorizationRequest, BrowserlessUser, interactionUid, type FlowStep } from './http-login.js';

export const callback = 'https://app.example.test/callback';

/**
 * A user's authenticator app. Each code is for a later time step than the last one used, because
 * the server accepts every step once (RFC 6238 §5.2) and tolerates one step of drift: two codes
 * in a row are always possible (this step, then the next).
 */
export class Authenticator {
  #lastStep = -1;

  constructor(readonly secret: string) {}

  async nextCode(): Promise<string> {
    for (const offset of [0, 30]) {
      const epoch = Date.now() / 1000 + offset;
      const step = Math.floor(epoch / 30);
      if (step > this.#lastStep) {
        this.#lastStep = step;
        return generate({ secret: this.secret, epoch });
      }
    }
    throw new Error('two codes were used in this time step already');
  }

  /** The code nextCode would give, without using its step (for a code the server must refuse). */
  async peekCode(): Promise<string> {
    const epoch = Date.now() / 1000 + (Math.floor(Date.now() / 1000 / 30) > this.#lastStep ? 0 : 30);
    return generate({ secret: this.secret, epoch });
  }

  /** A code that is valid in no step the server accepts now. */
  async wrongCode(): Promise<string> {
    const now = Date.now() / 1000;
    const valid = new Set(await Promise.all([-60, -30, 0, 30, 60].map((offset) => generate({ secret: this.secret, epoch: now + offset }))));
    for (;;) {
      const candidate = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0');
      if (!valid.has(candidate)) return candidate;
    }
  }
}

export interface Started {
  user: BrowserlessUser;
  page: FlowStep;
  uid: string | undefined;
  verifier: string;
}

/** Opens an authorization request in this user's browser and follows it to the first page. */
export async function startAuthorization(
  issuer: string,
  clientId: string,
  options: { user?: BrowserlessUser; params?: Record<string, string> } = {},
): Promise<Started> {
  const { url, verifier } = authorizationRequest(issuer, clientId, callback, options.params);
  const user = options.user ?? new BrowserlessUser(callback);
  const page = await user.open(url);
  return { user, page, uid: interactionUid(page), verifier };
}

/** startAuthorization for a request that must stop at an interaction page (a login form). */
export async function startLogin(
  issuer: string,
  clientId: string,
  options: { user?: BrowserlessUser; params?: Record<string, string> } = {},
): Promise<Started & { uid: string }> {
  const started = await startAuthorization(issuer, clientId, options);
  assert.ok(started.uid, `a login page, got ${started.page.status} at ${started.page.url}`);
  return { ...started, uid: started.uid };
}

export interface ClientCredentials {
  clientId: string;
  secret?: string | undefined;
}

export interface TokenAnswer {
  status: number;
  body: { id_token?: string; refresh_token?: string; access_token?: string; error?: string; error_description?: string };
}

/** A POST to the token endpoint as this client (HTTP Basic with a secret, else client_id in the form). */
export async function tokenRequest(issuer: string, client: ClientCredentials, fields: Record<string, string>): Promise<TokenAnswer> {
  const form = new URLSearchParams(fields);
  if (!client.secret) form.set('client_id', client.clientId);
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: client.secret ? { authorization: basicAuth(client.clientId, client.secret) } : {},
    body: form,
  });
  return { status: response.status, body: (await response.json()) as TokenAnswer['body'] };
}

/** Redeems the code the flow came back with; returns the token response (with an ID token). */
export async function redeemTokens(issuer: string, step: FlowStep, verifier: string, client: ClientCredentials): Promise<TokenAnswer['body']> {
  assert.ok(step.location?.startsWith(callback), `back at the client: ${step.status} ${step.location ?? step.body.slice(0, 300)}`);
  const code = new URL(step.location!).searchParams.get('code');
  assert.ok(code, `a code in ${step.location}`);
  const { body } = await tokenRequest(issuer, client, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback });
  assert.ok(body.id_token, JSON.stringify(body));
  return body;
}

/** Redeems the code the flow came back with; returns the ID token's claims. */
export async function redeemIdToken(issuer: string, step: FlowStep, verifier: string, client: ClientCredentials): Promise<Record<string, unknown>> {
  return decodeJwt((await redeemTokens(issuer, step, verifier, client)).id_token!);
}

/** From the enrolment page: the typed key and the recovery codes. */
export function readEnrolment(page: FlowStep): { secret: string; recoveryCodes: string[] } {
  const secret = /<code class="secret">([A-Z2-7]+)<\/code>/.exec(page.body)?.[1];
  assert.ok(secret, `an enrolment page: ${page.body.slice(0, 300)}`);
  const recoveryCodes = [...page.body.matchAll(/<li><code>([A-Z0-9-]{19})<\/code><\/li>/g)].map((match) => match[1]!);
  return { secret, recoveryCodes };
}

/**
 * Signs in with the password through a client that requires a second factor and enrols: returns
 * the user's authenticator (its first code already used), the recovery codes and the flow's last
 * step.
 */
export async function enrolThrough(
  issuer: string,
  clientId: string,
  credentials: { username: string; password: string },
  user?: BrowserlessUser,
  params?: Record<string, string>,
): Promise<{ authenticator: Authenticator; recoveryCodes: string[]; done: Started & { last: FlowStep } }> {
  const started = await startLogin(issuer, clientId, { ...(user ? { user } : {}), ...(params ? { params } : {}) });
  const enrol = await started.user.submit(started.page, `/interaction/${started.uid}/login`, credentials);
  const { secret, recoveryCodes } = readEnrolment(enrol);
  const authenticator = new Authenticator(secret);
  const last = await started.user.submit(enrol, `/interaction/${started.uid}/mfa`, { code: await authenticator.nextCode() });
  assert.ok(last.location?.startsWith(callback), `enrolled and back at the client: ${last.status} ${last.body.slice(0, 300)}`);
  return { authenticator, recoveryCodes, done: { ...started, last } };
}
