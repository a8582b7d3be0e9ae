// The one place that changes oidc-provider behaviour below its public configuration, and the only
// module that imports `oidc-provider/lib/*`. Keep it small; each patch names the upstream code it
// replaces and stops the start, naming itself and the installed version, when it cannot apply.
//
// Reliances on the library's order that are not patches (read them too before an upgrade):
// - config/resource-indicators.ts gives a client-credentials request without `scope` its API's
//   scopes by setting `params.scope` in getResourceServerInfo: it counts on
//   oidc-provider/lib/actions/grants/client_credentials.js reading the scope after it resolved the
//   resource (test/integration/token-fast-path.test.ts "without scope" compares the token with
//   the fast path's, which decides that default itself).
import { createRequire } from 'node:module';
import querystring from 'node:querystring';
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC, type ResponseType } from 'oidc-provider';
import introspectionActions from 'oidc-provider/lib/actions/introspection.js';
import revocationActions from 'oidc-provider/lib/actions/revocation.js';
import rejectStructuredTokens from 'oidc-provider/lib/shared/reject_structured_tokens.js';
import tokenActions from 'oidc-provider/lib/actions/token.js';
import getAuthorizationStack from 'oidc-provider/lib/actions/authorization/index.js';
import { checkResponseType } from 'oidc-provider/lib/actions/authorization/response_parameters.js';
import { urlencoded as parseUrlencodedBody } from 'oidc-provider/lib/shared/selective_body.js';
import ServerChallenge from 'oidc-provider/lib/helpers/challenge.js';
import { takeBodyReadEarly } from './fast-path/token-form.js';
import { clientSecretMatches } from '../credentials/client-secrets.js';
import { consumeAssertionJti, takeIssuedAtMs, unknownIssueTimeMs, type AssertionTimes } from './assertion-replay.js';
import type { EphemeralStore } from '../stores/ephemeral/types.js';
import type { Catalog } from '../catalog/catalog.js';

/** What oidc-provider's AccessToken model is built from (the published typings' constructor argument). */
type AccessTokenInit = ConstructorParameters<Provider['AccessToken']>[0];

/**
 * An access token that belongs to no grant of its own. The model takes one (oidc-provider/lib/models/access_token.js
 * lists `grantId` among its payload keys like every other, and saves without it); the published
 * typings require it of every AccessToken. The token-exchange grant issues such tokens
 * (grants/token-exchange.ts says why); this is the one place their typing is relaxed.
 */
export function grantlessAccessToken(provider: Provider, init: Omit<AccessTokenInit, 'grantId'>): InstanceType<Provider['AccessToken']> {
  return new provider.AccessToken(init as AccessTokenInit);
}

/** DPoP server nonces (RFC 9449 §8) as the library makes and checks them. */
export interface DpopNonceSource {
  /** The nonce to hand out now (the `DPoP-Nonce` header). */
  next(): string;
  /** Whether a client's nonce is one of the current few minutes'. */
  isValid(nonce: string): boolean;
}

/**
 * The library's own nonces for `secret` (oidc-provider/lib/helpers/challenge.js, the class
 * behind `features.dPoP.nonceSecret`): stateless, so every instance with the secret makes and
 * accepts the same ones, and the token endpoint's gate in front of the library (dpop-gate.ts)
 * agrees with the library itself on every nonce.
 */
export function dpopNonceSource(secret: Buffer): DpopNonceSource {
  const challenges = new ServerChallenge(secret, 'DPoP');
  return { next: () => challenges.nextChallenge(), isValid: (nonce) => challenges.checkChallenge(nonce) };
}

/**
 * The oidc-provider release these patches were written against and tested with
 * (test/unit/oidc-provider-version.test.ts fails when another is installed; package.json pins the
 * minor version). Review every patch below before changing it.
 */
export const patchedLibraryVersion = '9.13.3';

/** The oidc-provider release installed (its package.json; the package has no exports map). */
export const installedLibraryVersion: string = (createRequire(import.meta.url)('oidc-provider/package.json') as { version: string }).version;

/** Stops the start: running on without a patch would silently change answers. */
function patchCannotApply(patch: string, what: string): never {
  throw new Error(
    `oidc-provider changed: ${what} (patch ${patch} in src/oidc/internals.ts, written for oidc-provider ${patchedLibraryVersion}, installed ${installedLibraryVersion}); review the patch before upgrading`,
  );
}

function requireMethod(patch: string, owner: object, name: string, where: string): void {
  if (typeof (owner as Record<string, unknown>)[name] !== 'function') patchCannotApply(patch, `${where} has no ${name}()`);
}

/**
 * Client secrets are stored as SHA-256 digests and handed to the library in place of the
 * secret, so the comparison must digest what the client presented.
 * Replaces oidc-provider/lib/models/client.js `compareClientSecret` (constantEquals of the plain secret).
 */
function compareSecretsAsDigests(provider: Provider): void {
  const { Client } = provider;
  requireMethod('compareSecretsAsDigests', Client.prototype, 'compareClientSecret', 'oidc-provider/lib/models/client.js Client.prototype');
  Client.prototype.compareClientSecret = function compareDigest(presented) {
    return clientSecretMatches(presented, this.clientSecret);
  };
}

/**
 * One-time use of client assertion and DPoP proof `jti`s across every instance, atomically.
 * Replaces oidc-provider/lib/models/replay_detection.js `unique`, which does find() then save(): two
 * parallel requests with one assertion could both pass. Also refuses a credential issued before
 * the replay store's markers began (assertion-replay.ts): a client assertion's issue time comes
 * from our hook (config/client-assertions.ts), which ran just before with the claims; any other
 * caller gets the bound from `exp` (oidc-provider/lib/shared/jwt_client_auth.js passes exp + clockTolerance).
 */
function makeReplayDetectionAtomic(provider: Provider, store: EphemeralStore, times: AssertionTimes): void {
  const { ReplayDetection } = provider;
  requireMethod('makeReplayDetectionAtomic', ReplayDetection, 'unique', 'oidc-provider/lib/models/replay_detection.js ReplayDetection');
  ReplayDetection.unique = async (iss, jti, exp) => {
    const issuedAtMs = takeIssuedAtMs(iss, jti) ?? unknownIssueTimeMs(exp, times);
    return (await consumeAssertionJti(store, iss, jti, exp, issuedAtMs)) === 'consumed';
  };
}

/**
 * Every ID token carries `sid` (OpenID Connect Back-Channel Logout 1.0 §2.4 defines it), so
 * relying parties can tie a later logout to the session. The library adds it only for clients
 * registered for back-channel logout: oidc-provider/lib/models/client.js `includeSid`.
 */
function alwaysIncludeSid(provider: Provider): void {
  const { Client } = provider;
  requireMethod('alwaysIncludeSid', Client.prototype, 'includeSid', 'oidc-provider/lib/models/client.js Client.prototype');
  Client.prototype.includeSid = () => true;
}

/**
 * One Client instance per catalog record. The library's `Client.find` turns the adapter's
 * metadata into a Client on every call and, to notice a changed client, JSON-serialises and
 * SHA-256-hashes that metadata every time: the largest per-request cost on the client
 * credentials path that the library's static clients do not pay. Our catalog hands out the same
 * record object until the client changes (then a new one), so the record's identity answers
 * "changed?" for free. Wraps oidc-provider/lib/models/client.js `Client.find`.
 */
function memoiseClientsByCatalogRecord(provider: Provider, catalog: Catalog): void {
  const { Client } = provider;
  requireMethod('memoiseClientsByCatalogRecord', Client, 'find', 'oidc-provider/lib/models/client.js Client');
  const find = Client.find.bind(Client);
  type FoundClient = Awaited<ReturnType<typeof find>>;
  const clients = new WeakMap<object, FoundClient>();
  Client.find = async (id) => {
    if (typeof id !== 'string' || id === '') return find(id);
    const record = await catalog.findClient(id);
    if (!record) return undefined;
    let client = clients.get(record);
    if (client === undefined) {
      client = await find(id);
      if (client !== undefined) clients.set(record, client);
    }
    return client;
  };
}

interface PatchableClientKeyStore {
  jwksUri?: string;
  freshUntil?: number;
  fresh(): boolean;
  refresh(): Promise<void>;
  selectForVerify(options: unknown): unknown[];
}

/**
 * jwks_uri keys (RFC 7591 §2): the library refetches a client's JWKS only when verification
 * fails *and* its copy is older than the cache lifetime (at least 60 s), so a client that rolls
 * over to a new key is refused for up to a minute, and a key removed at the client keeps
 * working until a verification fails. We refetch on an unknown key at most once per
 * `minRefetchSeconds`, and start a background refetch once the cache lifetime has passed.
 * Replaces oidc-provider/lib/models/client.js ClientKeyStore `fresh` (and wraps `refresh`, `selectForVerify`).
 */
function refetchClientJwksOnUnknownKey(provider: Provider, minRefetchSeconds: number): void {
  const patch = 'refetchClientJwksOnUnknownKey';
  // The key store class is not exported: reach its prototype through a client's instance.
  const Client = provider.Client as unknown as new (metadata: Record<string, unknown>) => { asymmetricKeyStore?: unknown };
  const jwksUri = 'https://jwks.invalid/jwks';
  const probe = new Client({
    client_id: 'portcullis-jwks-probe',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks_uri: jwksUri,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  });
  const store = probe.asymmetricKeyStore;
  if (typeof store !== 'object' || store === null || (store as PatchableClientKeyStore).jwksUri !== jwksUri) {
    patchCannotApply(patch, 'oidc-provider/lib/models/client.js Client#asymmetricKeyStore is not a ClientKeyStore with the jwksUri of its client');
  }
  const prototype = Object.getPrototypeOf(store) as PatchableClientKeyStore;
  for (const name of ['fresh', 'refresh', 'selectForVerify'] as const) requireMethod(patch, prototype, name, 'oidc-provider/lib/models/client.js ClientKeyStore.prototype');
  const lastAttempt = new WeakMap<object, number>();
  const now = () => Math.floor(Date.now() / 1000);
  // Both are called with .call(this) on the key store they belong to.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const originalRefresh = prototype.refresh;
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const originalSelect = prototype.selectForVerify;

  prototype.fresh = function fresh(this: PatchableClientKeyStore) {
    if (!this.jwksUri) return true;
    const attempted = lastAttempt.get(this);
    return attempted !== undefined && now() - attempted < minRefetchSeconds;
  };
  prototype.refresh = async function refresh(this: PatchableClientKeyStore) {
    if (this.fresh()) return;
    try {
      await originalRefresh.call(this);
    } finally {
      lastAttempt.set(this, now());
    }
  };
  prototype.selectForVerify = function selectForVerify(this: PatchableClientKeyStore, options: unknown) {
    if (this.jwksUri && this.freshUntil !== undefined && this.freshUntil <= now() && !this.fresh()) {
      this.refresh().catch(() => {});
    }
    return originalSelect.call(this, options);
  };
}

export function applyProviderPatches(
  provider: Provider,
  deps: { store: EphemeralStore; catalog: Catalog },
  options: { jwksMinRefetchSeconds: number; assertionTimes: AssertionTimes },
): void {
  memoiseClientsByCatalogRecord(provider, deps.catalog);
  compareSecretsAsDigests(provider);
  alwaysIncludeSid(provider);
  refetchClientJwksOnUnknownKey(provider, options.jwksMinRefetchSeconds);
  makeReplayDetectionAtomic(provider, deps.store, options.assertionTimes);
}

type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => unknown;

/**
 * Puts `replacement` in the slot of `original` in one of the library's action arrays. Once per
 * process and before any Provider is constructed (construction copies these arrays); a later
 * call finds the replacement already there. A slot that is missing (the library changed) stops
 * the start.
 */
function replaceMiddleware(actions: Middleware[], original: Middleware | undefined, replacement: Middleware, where: string): void {
  if (actions.includes(replacement)) return;
  const index = original === undefined ? -1 : actions.indexOf(original);
  if (index === -1) patchCannotApply(replacement.name, `${where} is not where src/oidc/internals.ts expects it`);
  actions[index] = replacement;
}

interface StructuredTokenHandlers {
  revocation: Middleware;
  introspection: Middleware;
}

const structuredTokenHandlers = new WeakMap<object, StructuredTokenHandlers>();

function routeStructuredTokens(route: keyof StructuredTokenHandlers): Middleware {
  return function handleStructuredToken(ctx, next) {
    const handler = structuredTokenHandlers.get(ctx.oidc.provider)?.[route];
    return handler ? handler(ctx, next) : rejectStructuredTokens(ctx, next);
  };
}

/**
 * The revocation endpoint refuses JWTs outright (oidc-provider/lib/shared/reject_structured_tokens.js in
 * oidc-provider/lib/actions/revocation.js): we put a dispatcher in that slot which hands JWTs to the
 * handler registered for the provider serving the request and everything else on to the library.
 */
const revocationDispatcher = routeStructuredTokens('revocation');

/**
 * Introspection answers JWTs where the library answers opaque tokens: in the last slot,
 * `renderTokenResponse` (oidc-provider/lib/actions/introspection.js), after its
 * `jwtIntrospectionResponse`, so that the RFC 9701 signed answer wraps both. Its
 * reject_structured_tokens slot becomes a pass-through.
 */
function introspectedLater(_ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<unknown> {
  return next();
}

function libraryIntrospectionRenderer(): Middleware {
  const render = introspectionActions.find((action) => action.name === 'renderTokenResponse');
  if (!render) patchCannotApply('introspectStructuredTokens', 'oidc-provider/lib/actions/introspection.js has no renderTokenResponse');
  return render;
}

function introspectStructuredTokens(render: Middleware): Middleware {
  return function introspectStructuredToken(ctx, next) {
    const handler = structuredTokenHandlers.get(ctx.oidc.provider)?.introspection;
    return handler ? handler(ctx, () => Promise.resolve(render(ctx, next))) : render(ctx, next);
  };
}

export function prepareStructuredTokenEndpoints(): void {
  replaceMiddleware(revocationActions, rejectStructuredTokens, revocationDispatcher, 'oidc-provider/lib/actions/revocation.js rejectStructuredTokens');
  if (introspectionActions.includes(introspectedLater)) return;
  const render = libraryIntrospectionRenderer();
  replaceMiddleware(introspectionActions, rejectStructuredTokens, introspectedLater, 'oidc-provider/lib/actions/introspection.js rejectStructuredTokens');
  replaceMiddleware(introspectionActions, render, introspectStructuredTokens(render), 'oidc-provider/lib/actions/introspection.js renderTokenResponse');
}

export function handleStructuredTokens(provider: Provider, handlers: StructuredTokenHandlers): void {
  structuredTokenHandlers.set(provider, handlers);
}

function parseBodyReadEarly(ctx: KoaContextWithOIDC, next: () => Promise<unknown>): unknown {
  const body = takeBodyReadEarly(ctx.req);
  if (body === undefined) return parseUrlencodedBody(ctx, next);
  // The library's types make `body` read-only; its body parser, which this one stands in for, sets it.
  const oidc: { body?: unknown } = ctx.oidc;
  oidc.body = querystring.parse(body);
  return next();
}

/**
 * The token and introspection endpoints parse the body a fast path already read, when it read it
 * (oidc/fast-path/token-form.ts): the request stream is spent by then. Replaces the library's
 * `parseBody` (oidc-provider/lib/shared/selective_body.js `urlencoded`) in oidc-provider/lib/actions/token.js and
 * introspection.js with a reader that parses those bytes as the library does (querystring) and
 * otherwise calls the original. The library does honour a body parsed upstream (selective_body.js
 * falls back to `ctx.req.body || ctx.request.body` when the stream is spent), but then prints once
 * per process, on stderr outside our JSON log, a warning that an upstream body parser "is not
 * recommended"; hence this slot.
 */
export function prepareFastPathBodies(): void {
  replaceMiddleware(tokenActions, parseUrlencodedBody, parseBodyReadEarly, 'oidc-provider/lib/actions/token.js parseBody');
  replaceMiddleware(introspectionActions, parseUrlencodedBody, parseBodyReadEarly, 'oidc-provider/lib/actions/introspection.js parseBody');
}

/**
 * RFC 6749 §5.2: an authenticated client using a grant type it is not registered for is
 * `unauthorized_client`. oidc-provider/lib/actions/token.js `allowedGrantTypeCheck` (v9.13.3) throws
 * `InvalidRequest('requested grant type is not allowed for this client')` instead, for every
 * grant (authorization_code, refresh_token, client_credentials, token exchange). This is the same
 * check in the same place (after client authentication and the supported-grant check, so an
 * unauthenticated caller learns nothing and an unknown grant stays unsupported_grant_type), with
 * the RFC's error. No hook or event sees that error apart from its message, which would be a more
 * fragile thing to match than this slot, found by the function itself.
 */
async function registeredGrantTypeCheck(ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> {
  const grantType = (ctx.oidc.params as { grant_type?: string }).grant_type;
  if (!ctx.oidc.client!.grantTypeAllowed(grantType!)) {
    throw new errors.UnauthorizedClient(`the client is not registered for the grant type ${grantType} (grant_types metadata)`);
  }
  await next();
}


/**
 * RFC 6749 §4.1.2.1: a client asking the authorization endpoint for a response type it is not
 * registered for (a service with `response_types: []` asking for a code) is `unauthorized_client`.
 * oidc-provider/lib/actions/authorization/response_parameters.js `checkResponseType` (v9.13.3) normalises the
 * value, answers an unsupported one with UnsupportedResponseType and one the client lacks with
 * `InvalidRequest('requested response_type is not allowed for this client')`, its only
 * InvalidRequest. We run it and turn that one refusal (by its class, before it called `next`,
 * for a type the client indeed lacks) into unauthorized_client. The answer is redirected only to
 * a registered redirect_uri (oidc-provider/lib/shared/authorization_error_handler.js checks it).
 */
async function registeredResponseTypeCheck(ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> {
  let passed = false;
  try {
    await checkResponseType(ctx, () => {
      passed = true;
      return next();
    });
  } catch (error) {
    const responseType = (ctx.oidc.params as { response_type?: string }).response_type;
    if (!passed && error instanceof errors.InvalidRequest && !ctx.oidc.client!.responseTypeAllowed(responseType as ResponseType)) {
      throw new errors.UnauthorizedClient(`the client is not registered for the response type ${responseType} (response_types metadata)`);
    }
    throw error;
  }
}

/** Once per process, before any Provider is constructed (the library caches these stacks and construction spreads them). */
export function prepareUnauthorizedClientAnswer(): void {
  const allowedGrantTypeCheck = tokenActions.find((middleware) => middleware.name === 'allowedGrantTypeCheck');
  replaceMiddleware(tokenActions, allowedGrantTypeCheck, registeredGrantTypeCheck, 'oidc-provider/lib/actions/token.js allowedGrantTypeCheck');
  for (const endpoint of ['authorization', 'pushed_authorization_request'] as const) {
    const where = `oidc-provider/lib/actions/authorization/index.js ${endpoint} checkResponseType`;
    const stack = getAuthorizationStack(endpoint);
    // A patch of a stack the library rebuilds per call would be lost.
    if (getAuthorizationStack(endpoint) !== stack) patchCannotApply('registeredResponseTypeCheck', `${where}: the stack is no longer cached`);
    replaceMiddleware(stack, checkResponseType, registeredResponseTypeCheck, where);
  }
}

/** Every patch of the library's middleware stacks: once per process, before any Provider is constructed. */
export function prepareLibraryStacks(): void {
  prepareStructuredTokenEndpoints();
  prepareFastPathBodies();
  prepareUnauthorizedClientAnswer();
}

/** The library's action arrays the patches above change, for test/unit/provider-internals.test.ts. */
export const patchedStacks = {
  token: tokenActions,
  authorization: (endpoint: 'authorization' | 'pushed_authorization_request') => getAuthorizationStack(endpoint),
};
