// The scenarios. Each prepares what its requests need on one target (tokens, a pool of signed
// assertions, a pool of refresh tokens), checks that one request succeeds, and hands back a
// `load(seconds)` that drives the target at the given number of connections.
import type autocannon from 'autocannon';
import { AssertionPool, DpopProofPool, signAssertions } from './assertions.js';
import { accessTokenType, apis, assertionType, basicAuth, clientIds, exchangeGrant, type AssertionKey, username } from './fixtures.js';
import { form, formHeaders, postJson, type HttpClient } from './http.js';
import { runAutocannon, runWorkers, type LoadResult } from './load.js';
import { runLoginFlow } from './login-flow.js';
import { seededClientId, seededUsername } from './seed.js';
import type { Target } from './targets.js';

export type ScenarioId = 'cc-secret' | 'cc-dpop' | 'cc-pkjwt' | 'exchange' | 'txn' | 'introspect' | 'introspect-opaque' | 'phantom' | 'refresh' | 'login' | 'cc-secret-many';

export interface ScenarioContext {
  key: AssertionKey;
  http: HttpClient;
  /** Seconds the prepared run must last: warm-up + measured part. */
  totalSeconds: number;
  /** Clients and users seeded into Portcullis' Postgres database (--seed-clients, --seed-users). */
  seeded: { clients: number; users: number };
  /** ok/s measured earlier in this run, to size pools. */
  rateHint(target: Target, scenario: ScenarioId, connections: number): number | undefined;
}

export interface PreparedRun {
  load(seconds: number): Promise<LoadResult>;
  /** One operation, as the load sends it, outside any measurement (for counting round trips). */
  one(): Promise<void>;
  /** What the reader must know about this run (after it). */
  notes(): string[];
}

export interface Scenario {
  id: ScenarioId;
  title: string;
  /** What one counted unit is. */
  unit: 'request' | 'flow';
  appliesTo(target: Target, ctx: ScenarioContext): boolean;
  prepare(ctx: ScenarioContext, target: Target, connections: number): Promise<PreparedRun>;
}

const tokenPath = '/token';
const introspectionPath = '/token/introspection';

function secretAuth(target: Target): string {
  return basicAuth(clientIds.secret, target.secrets[clientIds.secret]!);
}

async function clientCredentialsToken(ctx: ScenarioContext, target: Target, resource: string, scope: string): Promise<string> {
  const body = await postJson(ctx.http, `${target.issuer}${tokenPath}`, { grant_type: 'client_credentials', resource, scope }, { authorization: secretAuth(target) });
  return String(body.access_token);
}

/** The baseline's workers do not share its in-memory adapter: stateful scenarios need one. */
const statefulOn = (target: Target) => target.kind === 'portcullis' || target.workers === 1;

/** Sends one request as the load will, and fails the scenario early when it is not a success. */
async function probe(ctx: ScenarioContext, target: Target, path: string, headers: Record<string, string>, body: string, expect?: (json: Record<string, unknown>) => boolean): Promise<void> {
  const response = await ctx.http.request(`${target.issuer}${path}`, { method: 'POST', headers: { ...formHeaders, ...headers }, body });
  let ok = response.status >= 200 && response.status <= 299;
  if (ok && expect) ok = expect(JSON.parse(response.body) as Record<string, unknown>);
  if (!ok) throw new Error(`probe ${path} on ${target.id}: ${response.status} ${response.body.slice(0, 300)}`);
}

async function send(ctx: ScenarioContext, target: Target, path: string, headers: Record<string, string>, body: string): Promise<string> {
  const response = await ctx.http.request(`${target.issuer}${path}`, { method: 'POST', headers: { ...formHeaders, ...headers }, body });
  if (response.status < 200 || response.status > 299) throw new Error(`${path} on ${target.id}: ${response.status} ${response.body.slice(0, 200)}`);
  return response.body;
}

function staticRequest(path: string, headers: Record<string, string>, body: string): autocannon.Request {
  return { method: 'POST', path, headers: { ...formHeaders, ...headers }, body };
}

/** Assertions for `totalSeconds` at the rate seen for a comparable scenario, plus a margin. */
async function assertionPool(ctx: ScenarioContext, target: Target, clientId: string, expectedRate: number): Promise<{ pool: AssertionPool; size: number; signRate: number }> {
  const claims = { clientId, audience: target.issuer, lifetime: 240 };
  const size = Math.min(800_000, Math.ceil(expectedRate * ctx.totalSeconds * 1.25) + 2_000);
  const { assertions, perSecond } = await signAssertions(ctx.key, claims, size);
  return { pool: new AssertionPool(assertions, ctx.key, claims), size, signRate: perSecond };
}

function poolNotes(pool: AssertionPool, size: number, signRate: number): string[] {
  const notes = [`${size} assertions pre-signed (${Math.round(signRate)}/s on all cores)`];
  if (pool.signedInline > 0) notes.push(`pool ran dry: ${pool.signedInline} assertions signed inline by the load generator`);
  return notes;
}

const clientCredentialsSecret: Scenario = {
  id: 'cc-secret',
  title: 'client_credentials, client_secret_basic',
  unit: 'request',
  appliesTo: () => true,
  async prepare(ctx, target, connections) {
    const headers = { authorization: secretAuth(target) };
    const body = form({ grant_type: 'client_credentials', resource: apis.main.identifier, scope: 'api.read' });
    await probe(ctx, target, tokenPath, headers, body, (json) => typeof json.access_token === 'string');
    return {
      load: (seconds) => runAutocannon({ url: target.issuer, connections, seconds, requests: [staticRequest(tokenPath, headers, body)] }),
      one: async () => void (await send(ctx, target, tokenPath, headers, body)),
      notes: () => [],
    };
  },
};

/** Token requests with one body and headers made afresh for each (a random client, a new proof). */
function tokenRequestsWithFreshHeaders(
  ctx: ScenarioContext,
  target: Target,
  connections: number,
  body: string,
  headers: () => Record<string, string>,
): Omit<PreparedRun, 'notes'> {
  const request: autocannon.Request = {
    ...staticRequest(tokenPath, {}, body),
    setupRequest(req) {
      req.headers = { ...formHeaders, ...headers() };
      return req;
    },
  };
  return {
    load: (seconds) => runAutocannon({ url: target.issuer, connections, seconds, requests: [request] }),
    one: async () => void (await send(ctx, target, tokenPath, headers(), body)),
  };
}

const clientCredentialsDpop: Scenario = {
  id: 'cc-dpop',
  title: 'client_credentials, client_secret_basic, a fresh DPoP proof each (RFC 9449)',
  unit: 'request',
  appliesTo: () => true,
  async prepare(ctx, target, connections) {
    const expected = ctx.rateHint(target, 'cc-secret', connections) ?? 10_000;
    const pool = await DpopProofPool.create(ctx.key, `${target.issuer}${tokenPath}`, Math.min(800_000, Math.ceil(expected * ctx.totalSeconds * 1.25) + 2_000));
    const headers = () => ({ authorization: secretAuth(target), dpop: pool.take() });
    const body = form({ grant_type: 'client_credentials', resource: apis.main.identifier, scope: 'api.read' });
    await probe(ctx, target, tokenPath, headers(), body, (json) => json.token_type === 'DPoP');
    return {
      ...tokenRequestsWithFreshHeaders(ctx, target, connections, body, headers),
      notes: () => [
        `${pool.size} proofs pre-signed (${Math.round(pool.signRate)}/s on all cores)`,
        ...(pool.signedInline ? [`pool ran dry: ${pool.signedInline} proofs signed inline by the load generator`] : []),
      ],
    };
  },
};

/** Token requests with the same fields and a fresh client assertion from the pool in each. */
async function tokenRequestsWithFreshAssertions(
  ctx: ScenarioContext,
  target: Target,
  connections: number,
  fields: Record<string, string>,
  assertions: Awaited<ReturnType<typeof assertionPool>>,
): Promise<PreparedRun> {
  const { pool, size, signRate } = assertions;
  const body = () => form({ ...fields, client_assertion: pool.take() });
  await probe(ctx, target, tokenPath, {}, body(), (json) => typeof json.access_token === 'string');
  const request: autocannon.Request = {
    ...staticRequest(tokenPath, {}, ''),
    setupRequest(req) {
      req.body = body();
      return req;
    },
  };
  return {
    load: (seconds) => runAutocannon({ url: target.issuer, connections, seconds, requests: [request] }),
    one: async () => void (await send(ctx, target, tokenPath, {}, body())),
    notes: () => poolNotes(pool, size, signRate),
  };
}

const clientCredentialsKeyJwt: Scenario = {
  id: 'cc-pkjwt',
  title: 'client_credentials, private_key_jwt (fresh assertion each)',
  unit: 'request',
  appliesTo: () => true,
  async prepare(ctx, target, connections) {
    const expected = ctx.rateHint(target, 'cc-secret', connections) ?? 10_000;
    const { pool, size, signRate } = await assertionPool(ctx, target, clientIds.pkjwt, expected);
    const fields = { grant_type: 'client_credentials', resource: apis.main.identifier, scope: 'api.read', client_id: clientIds.pkjwt, client_assertion_type: assertionType };
    return tokenRequestsWithFreshAssertions(ctx, target, connections, fields, { pool, size, signRate });
  },
};

const tokenExchange: Scenario = {
  id: 'exchange',
  title: 'token exchange (RFC 8693), private_key_jwt',
  unit: 'request',
  appliesTo: (target) => target.kind === 'portcullis',
  async prepare(ctx, target, connections) {
    // A token for API A, which bench-exchanger acts for, traded for one for API B.
    const subjectToken = await clientCredentialsToken(ctx, target, apis.a.identifier, 'a.read');
    const expected = ctx.rateHint(target, 'cc-pkjwt', connections) ?? ctx.rateHint(target, 'cc-secret', connections) ?? 8_000;
    const { pool, size, signRate } = await assertionPool(ctx, target, clientIds.exchanger, expected);
    const fields = {
      grant_type: exchangeGrant,
      subject_token: subjectToken,
      subject_token_type: accessTokenType,
      resource: apis.b.identifier,
      scope: 'b.read',
      client_id: clientIds.exchanger,
      client_assertion_type: assertionType,
    };
    return tokenRequestsWithFreshAssertions(ctx, target, connections, fields, { pool, size, signRate });
  },
};

const transactionToken: Scenario = {
  id: 'txn',
  title: 'Transaction Token (draft-ietf-oauth-transaction-tokens), private_key_jwt',
  unit: 'request',
  appliesTo: (target) => target.kind === 'portcullis',
  async prepare(ctx, target, connections) {
    // The same caller and subject as `exchange`: a token for A, which bench-exchanger acts for.
    const subjectToken = await clientCredentialsToken(ctx, target, apis.a.identifier, 'a.read');
    const expected = ctx.rateHint(target, 'exchange', connections) ?? ctx.rateHint(target, 'cc-pkjwt', connections) ?? 8_000;
    const { pool, size, signRate } = await assertionPool(ctx, target, clientIds.exchanger, expected);
    const fields = {
      grant_type: exchangeGrant,
      requested_token_type: 'urn:ietf:params:oauth:token-type:txn_token',
      subject_token: subjectToken,
      subject_token_type: accessTokenType,
      // The trust domain: TRUST_DOMAIN is not set for the bench, so the issuer.
      audience: target.issuer,
      scope: 'a.read',
      client_id: clientIds.exchanger,
      client_assertion_type: assertionType,
    };
    return tokenRequestsWithFreshAssertions(ctx, target, connections, fields, { pool, size, signRate });
  },
};

function introspection(id: 'introspect' | 'introspect-opaque'): Scenario {
  return {
    id,
    title: id === 'introspect' ? 'introspection of a JWT access token' : 'introspection of an opaque access token',
    unit: 'request',
    appliesTo: statefulOn,
    async prepare(ctx, target, connections) {
      // Upstream refuses to introspect JWTs (lib/shared/reject_structured_tokens.js), so in the
      // JWT scenario the baseline introspects what it can: an opaque token.
      const opaque = id === 'introspect-opaque' || target.kind === 'baseline';
      const api = opaque ? apis.opaque : apis.main;
      const token = await clientCredentialsToken(ctx, target, api.identifier, api.scopes[0]!);
      const headers = { authorization: secretAuth(target) };
      const body = form({ token, token_type_hint: 'access_token' });
      await probe(ctx, target, introspectionPath, headers, body, (json) => json.active === true);
      return {
        load: (seconds) => runAutocannon({ url: target.issuer, connections, seconds, requests: [staticRequest(introspectionPath, headers, body)] }),
        one: async () => void (await send(ctx, target, introspectionPath, headers, body)),
        notes: () => (opaque && id === 'introspect' ? ['baseline introspects an opaque token (upstream cannot introspect JWTs)'] : []),
      };
    },
  };
}

const phantomTrade: Scenario = {
  id: 'phantom',
  title: 'phantom token: an opaque token traded for its JWT at introspection (Accept: application/jwt)',
  unit: 'request',
  appliesTo: (target) => target.kind === 'portcullis',
  async prepare(ctx, target, connections) {
    const token = await clientCredentialsToken(ctx, target, apis.phantom.identifier, apis.phantom.scopes[0]!);
    const headers = { authorization: secretAuth(target), accept: 'application/jwt' };
    const body = form({ token });
    const inner = await send(ctx, target, introspectionPath, headers, body);
    if (inner.split('.').length !== 3) throw new Error(`phantom trade on ${target.id}: no JWT: ${inner.slice(0, 200)}`);
    return {
      load: (seconds) => runAutocannon({ url: target.issuer, connections, seconds, requests: [staticRequest(introspectionPath, headers, body)] }),
      one: async () => void (await send(ctx, target, introspectionPath, headers, body)),
      notes: () => [],
    };
  },
};

/** Refresh tokens from `count` login flows, `concurrency` at a time. */
async function refreshTokensByLogin(ctx: ScenarioContext, target: Target, count: number): Promise<string[]> {
  const tokens: string[] = [];
  const result = await runWorkers({
    concurrency: Math.min(8, count),
    seconds: 120,
    maxTasks: count,
    task: async (index) => {
      const flow = await runLoginFlow({ client: ctx.http, issuer: target.issuer, webSecret: target.secrets[clientIds.web]!, username: username(index) });
      tokens.push(flow.refreshToken);
    },
  });
  if (tokens.length < count) throw new Error(`only ${tokens.length} of ${count} logins for refresh tokens succeeded: ${result.firstFailure}`);
  return tokens;
}

const refresh: Scenario = {
  id: 'refresh',
  title: 'refresh_token (rotating; ID token + API JWT)',
  unit: 'request',
  appliesTo: statefulOn,
  async prepare(ctx, target, connections) {
    // Each refresh token works once and its answer carries the next: every chain is used by one
    // connection at a time, and a chain that fails is lost (counted). The requests in flight when
    // a run stops (the warm-up, then the measured part) are cut off after the server rotated
    // their token, which loses up to `connections` chains each time: hence 2 × connections + 16.
    const pool = await refreshTokensByLogin(ctx, target, 2 * connections + 16);
    const chains = pool.length;
    let lost = 0;
    let starved = 0;
    const headers = { ...formHeaders, authorization: basicAuth(clientIds.web, target.secrets[clientIds.web]!) };
    const refreshBody = (token: string) => form({ grant_type: 'refresh_token', refresh_token: token, resource: apis.main.identifier });
    const request: autocannon.Request = {
      method: 'POST',
      path: tokenPath,
      headers,
      setupRequest(req) {
        const token = pool.shift();
        if (token === undefined) starved += 1;
        req.body = refreshBody(token ?? 'pool-empty');
        return req;
      },
      onResponse(status, body) {
        const next = status === 200 ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : undefined;
        if (next) pool.push(next);
        else lost += 1;
      },
    };
    return {
      load: (seconds) => runAutocannon({ url: target.issuer, connections, seconds, requests: [request] }),
      async one() {
        const token = pool.shift();
        if (token === undefined) throw new Error('no refresh token left');
        const answer = JSON.parse(await send(ctx, target, tokenPath, headers, refreshBody(token))) as { refresh_token: string };
        pool.push(answer.refresh_token);
      },
      notes: () => [
        `${chains} refresh-token chains from login flows`,
        ...(lost ? [`${lost} chains broken by a failed refresh`] : []),
        ...(starved ? [`${starved} requests found the pool empty`] : []),
      ],
    };
  },
};

const login: Scenario = {
  id: 'login',
  title: 'login flow over HTTP (authorize → login → consent → code → token)',
  unit: 'flow',
  appliesTo: statefulOn,
  async prepare(ctx, target, connections) {
    let requests = 0;
    let flows = 0;
    // With seeded users (Postgres only), Portcullis' logins pick any of them.
    const seededUsers = target.id === 'portcullis' ? ctx.seeded.users : 0;
    const pick = (index: number) => (seededUsers ? seededUsername(1 + Math.floor(Math.random() * seededUsers)) : username(index));
    const task = async (index: number) => {
      const flow = await runLoginFlow({ client: ctx.http, issuer: target.issuer, webSecret: target.secrets[clientIds.web]!, username: pick(index) });
      requests += flow.requests;
      flows += 1;
    };
    await task(0);
    return {
      load: (seconds) => runWorkers({ concurrency: connections, seconds, task }),
      one: () => task(0),
      notes: () => [
        `${(requests / Math.max(1, flows)).toFixed(0)} HTTP requests per flow`,
        ...(target.kind === 'baseline' ? ['baseline: devInteractions, no password check (no argon2)'] : []),
        ...(seededUsers ? [`users picked among ${seededUsers.toLocaleString('en-US')} seeded`] : []),
      ],
    };
  },
};

/** Most clients that ask for tokens in `cc-secret-many`, however many are registered. */
const activeClientLimit = 1_000;

const clientCredentialsManyClients: Scenario = {
  id: 'cc-secret-many',
  title: 'client_credentials, client_secret_basic, a random client of up to 1,000 active among the seeded ones each time',
  unit: 'request',
  appliesTo: (target, ctx) => target.id === 'portcullis' && ctx.seeded.clients > 0,
  async prepare(ctx, target, connections) {
    // The clients that ask for tokens are an active set of up to 1,000 spread evenly over all
    // the seeded ones; the rest are registered but idle. What grows is the registry, not the
    // traffic: a client's first request (and one every 5 minutes, when its cache entry is
    // refreshed) reads Postgres, every other one is served from the in-process cache.
    const count = ctx.seeded.clients;
    const active = Math.min(count, activeClientLimit);
    const stride = count / active;
    const secret = target.secrets[clientIds.secret]!;
    const body = form({ grant_type: 'client_credentials', resource: apis.main.identifier, scope: 'api.read' });
    const headers = () => ({ authorization: basicAuth(seededClientId(1 + Math.floor(Math.floor(Math.random() * active) * stride)), secret) });
    await probe(ctx, target, tokenPath, headers(), body, (json) => typeof json.access_token === 'string');
    return {
      ...tokenRequestsWithFreshHeaders(ctx, target, connections, body, headers),
      notes: () => [`clients picked among ${active.toLocaleString('en-US')} active of ${count.toLocaleString('en-US')} seeded`],
    };
  },
};

export const scenarios: readonly Scenario[] = [
  clientCredentialsSecret,
  // Right after cc-secret, which it is compared with.
  clientCredentialsManyClients,
  clientCredentialsDpop,
  clientCredentialsKeyJwt,
  tokenExchange,
  // Right after exchange, which it is compared with.
  transactionToken,
  introspection('introspect'),
  // Right after introspect, which it is compared with.
  phantomTrade,
  introspection('introspect-opaque'),
  refresh,
  login,
];
