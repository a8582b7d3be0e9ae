// Admin API calls for test set-up, as the bootstrap admin client of test/helpers/server.ts.
import { adminClientId, adminClientSecret } from './server.js';

import { basicAuth } from './http-support.js';

// One way to authenticate a test's token request (RFC 6749 §2.3.1) and to get an admin token.
export { basicAuth, getAdminToken } from './http-support.js';

/** An admin call that must succeed; returns the JSON answer ({} for 204). */
export async function adminRequest(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function createUser(
  url: string,
  token: string,
  user: { username: string; password: string } & Record<string, unknown>,
): Promise<string> {
  const created = await adminRequest(url, token, 'POST', '/admin/users', user);
  return created.sub as string;
}

/**
 * Registers a first-party public client for the authorization code flow with PKCE (no secret,
 * RFC 7636; token_endpoint_auth_method none), scope openid; extra adds to or overrides that.
 */
export async function registerPublicWebClient(
  url: string,
  token: string,
  clientId: string,
  redirectUri: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await adminRequest(url, token, 'POST', '/admin/clients', {
    client_id: clientId,
    grant_types: ['authorization_code'],
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'none',
    scope: 'openid',
    first_party: true,
    ...extra,
  });
}

/**
 * RFC 7662 introspection as the bootstrap admin client (it may introspect any token): the status,
 * and `active` when the answer is a 200.
 */
export async function introspectAsAdmin(url: string, token: string): Promise<{ status: number; active?: boolean }> {
  const response = await fetch(`${url}/token/introspection`, {
    method: 'POST',
    headers: { authorization: basicAuth(adminClientId, adminClientSecret) },
    body: new URLSearchParams({ token }),
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    return { status: response.status };
  }
  return { status: 200, active: ((await response.json()) as { active: boolean }).active };
}
