// Client authentication for the fast paths (RFC 6749 §2.3, RFC 7523 §2.2):
// client_secret_basic, client_secret_post and private_key_jwt with inline keys. It answers only
// "this client, authenticated" or "not for me" (undefined): every refusal, and every form it does
// not handle (URL-encoded Basic credentials, jwks_uri keys, expiring secrets...), is left to the
// library, which checks the same request again and answers it with its own error. So the fast
// path can never refuse what the library would accept, nor accept what it would refuse: each
// check here is the library's (oidc-provider/lib/shared/client_auth.js, jwt_client_auth.js) or stricter.
import { isCanonicalBase64, readBasicCredentials } from '../../http/basic-credentials.js';
import type { Context } from 'koa';
import { createLocalJWKSet, jwtVerify, type JWK, type JWTVerifyGetKey } from 'jose';
import { consumeAssertionJti } from '../assertion-replay.js';
import { enabledJWA } from '../config/client-auth.js';
import { unverifiedAssertionSubject, type ClientAssertionCheck } from '../config/client-assertions.js';
import type { EphemeralStore } from '../../stores/ephemeral/types.js';
import { servingProvider } from '../serving-provider.js';
import type { Form } from './token-form.js';
import type { Client } from 'oidc-provider';

/** oidc-provider's Client model; its compareClientSecret compares digests (internals.ts). */
export type ProviderClient = Client;

export interface ClientAuthenticationDeps {
  store: EphemeralStore;
  checkClientAssertion: ClientAssertionCheck;
  clockTolerance: number;
}

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The form parameters client authentication reads (oidc-provider/lib/shared/client_auth.js getClientAuthParams). */
export const clientAuthenticationParameters = ['client_id', 'client_secret', 'client_assertion', 'client_assertion_type'];

/** A client as the provider serving this request sees it (memoised per catalog record: internals.ts). */
function findClient(ctx: Context, clientId: string): Promise<ProviderClient | undefined> {
  return servingProvider(ctx).Client.find(clientId);
}

/**
 * Characters that mean the same before and after form-URL-decoding (RFC 3986 §2.3 unreserved),
 * so a Basic header's id and secret can be taken as they are. Anything else (%-escapes, `+`)
 * goes to the library, which decodes it (RFC 6749 §2.3.1).
 */
const unreserved = /^[A-Za-z0-9._~-]+$/;

export interface PresentedCredentials {
  clientId: string;
  method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  secret?: string;
  assertion?: string;
}

/** Exactly one mechanism, in one of the forms handled here (the library refuses two). */
export function presentedCredentials(ctx: Context, form: Form): PresentedCredentials | undefined {
  const authorization = ctx.get('authorization');
  const { client_id: clientId, client_secret: secret, client_assertion: assertion } = form;
  if (authorization) {
    if (secret !== undefined || assertion !== undefined) return undefined;
    // The plainest form only: the scheme spelled as the library expects, canonical base64 (Buffer
    // is lenient where the library is strict), and id and secret that form-decoding leaves as
    // they are. Anything else goes to the library.
    const credentials = authorization.startsWith('Basic ') ? readBasicCredentials(authorization) : undefined;
    if (!credentials || !isCanonicalBase64(credentials.encoded)) return undefined;
    const { rawId: id, rawSecret: presented } = credentials;
    if (!unreserved.test(id) || !unreserved.test(presented)) return undefined;
    if (clientId !== undefined && clientId !== id) return undefined;
    return { clientId: id, method: 'client_secret_basic', secret: presented };
  }
  if (secret !== undefined) {
    if (assertion !== undefined || !clientId || !secret) return undefined;
    return { clientId, method: 'client_secret_post', secret };
  }
  if (assertion !== undefined) {
    if (form.client_assertion_type !== assertionType) return undefined;
    const subject = unverifiedAssertionSubject(assertion);
    if (!subject || (clientId !== undefined && clientId !== subject)) return undefined;
    return { clientId: subject, method: 'private_key_jwt', assertion };
  }
  return undefined;
}

const keySets = new WeakMap<ProviderClient, JWTVerifyGetKey>();

function inlineKeys(client: ProviderClient): JWTVerifyGetKey | undefined {
  if (client.jwksUri || !client.jwks) return undefined;
  let keys = keySets.get(client);
  if (!keys) {
    // A client's registered `jwks` are plain public JWKs (RFC 7591 §2); the model's type also
    // admits the provider's own external signing keys, which a client never has.
    keys = createLocalJWKSet({ keys: [...client.jwks.keys] as JWK[] });
    keySets.set(client, keys);
  }
  return keys;
}

/**
 * private_key_jwt: the signature by one of the client's registered keys with an allowed
 * asymmetric `alg`, `iss` = `sub` = client_id, `exp` and `jti` present, `nbf`/`exp` within the
 * clock tolerance, then our strict policy (config/client-assertions.ts: `aud`, lifetime, no key
 * references). Returns what its one-time use is keyed by; the `jti` is spent by `commit`.
 */
async function verifyAssertion(
  client: ProviderClient,
  assertion: string,
  deps: ClientAuthenticationDeps,
): Promise<{ jti: string; exp: number; issuedAtMs: number } | undefined> {
  const keys = inlineKeys(client);
  if (!keys) return undefined;
  const algorithms = client.clientAuthSigningAlg ? [client.clientAuthSigningAlg] : enabledJWA.clientAuthSigningAlgValues;
  let verified: Awaited<ReturnType<typeof jwtVerify>>;
  try {
    verified = await jwtVerify(assertion, keys, {
      algorithms,
      issuer: client.clientId,
      subject: client.clientId,
      clockTolerance: deps.clockTolerance,
      requiredClaims: ['exp', 'jti', 'aud'],
    });
  } catch {
    return undefined;
  }
  const { payload, protectedHeader } = verified;
  if (typeof payload.jti !== 'string' || !payload.jti || typeof payload.exp !== 'number') return undefined;
  // The library hook's own checks (without marking the request as checked: config/client-assertions.ts).
  if (payload.sub !== client.clientId || deps.checkClientAssertion.problems({ ...payload }, { ...protectedHeader }).length > 0) return undefined;
  return { jti: payload.jti, exp: payload.exp, issuedAtMs: deps.checkClientAssertion.issuedAtMs({ ...payload, exp: payload.exp }) };
}

export interface VerifiedClient {
  client: ProviderClient;
  /**
   * Makes the authentication final: spends a client assertion's `jti` (RFC 7523 §3 item 7), and
   * is false if it was spent already (a replay, which the library then refuses), or if the
   * assertion predates the replay store's markers (assertion-replay.ts). Called once the
   * fast path is sure to answer, so a request it hands on is not left with a spent assertion.
   */
  commit(): Promise<boolean>;
}

const nothingToCommit = async (): Promise<boolean> => true;

/**
 * The client the presented credentials authenticate (allowed `grantType` when one is named), or
 * undefined when the library should decide.
 */
export async function verifyClient(
  ctx: Context,
  presented: PresentedCredentials,
  deps: ClientAuthenticationDeps,
  grantType?: string,
): Promise<VerifiedClient | undefined> {
  const client = await findClient(ctx, presented.clientId);
  if (!client || client.clientAuthMethod !== presented.method) return undefined;
  if (grantType !== undefined && !client.grantTypeAllowed(grantType)) return undefined;
  if (presented.secret !== undefined) {
    if (client.clientSecretExpiresAt) return undefined;
    return (await client.compareClientSecret(presented.secret)) ? { client, commit: nothingToCommit } : undefined;
  }
  if (presented.assertion === undefined) return undefined;
  const assertion = await verifyAssertion(client, presented.assertion, deps);
  if (!assertion) return undefined;
  return {
    client,
    commit: async () =>
      (await consumeAssertionJti(deps.store, client.clientId, assertion.jti, assertion.exp + deps.clockTolerance, assertion.issuedAtMs)) ===
      'consumed',
  };
}
