// Which requests the token-endpoint rate limit counts (src/throttle/request-rates.ts): every POST
// that oidc-provider will serve as the token, introspection or revocation endpoint — its router
// ignores case and one trailing slash (oidc-provider/lib/helpers/router.js) — and nothing else; and how a client
// whose budget is spent is recognised before authentication, by the client id of its Basic header
// (form-URL-decoded, RFC 6749 §2.3.1). Real rate-limiter-flexible limiters and real Koa contexts.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import Koa, { type Context } from 'koa';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { createTokenRateLimit } from '../../src/throttle/request-rates.js';
import type { Throttles } from '../../src/throttle/throttles.js';

const ip = '198.51.100.7';

/** What the middleware throws for a request over a rate (the app's error type: src/http/errors.ts). */
interface ThrottleError {
  status: number;
  code: string;
  headers?: Readonly<Record<string, string>>;
}

function contextFor(method: string, path: string, headers: Record<string, string> = {}): Context {
  const req = new http.IncomingMessage(new net.Socket());
  req.method = method;
  req.url = path;
  req.headers = headers;
  const ctx = new Koa().createContext(req, new http.ServerResponse(req));
  ctx.request.ip = ip;
  return ctx;
}

/** The request-rate limiters of Throttles (the login ones are not read by this middleware). */
function throttlesWith(limits: { byIp?: number; byClient?: number }): Throttles & { byIp?: RateLimiterMemory; byClient?: RateLimiterMemory } {
  const byIp = limits.byIp ? new RateLimiterMemory({ points: limits.byIp, duration: 60 }) : undefined;
  const byClient = limits.byClient ? new RateLimiterMemory({ points: limits.byClient, duration: 60 }) : undefined;
  return { tokenRequestsByIp: byIp, tokenRequestsByClient: byClient, adminRequestsByIp: undefined, byIp, byClient } as unknown as Throttles & {
    byIp?: RateLimiterMemory;
    byClient?: RateLimiterMemory;
  };
}

/** Runs the middleware for one request; says whether it reached the next one and what it threw. */
async function pass(middleware: ReturnType<typeof createTokenRateLimit>, ctx: Context, authenticatedAs?: string) {
  let reached = false;
  try {
    await middleware(ctx, async () => {
      reached = true;
      if (authenticatedAs) ctx.state.authenticatedClientId = authenticatedAs;
    });
    return { reached, error: undefined };
  } catch (error) {
    return { reached, error };
  }
}

const counted = async (method: string, path: string): Promise<boolean> => {
  const throttles = throttlesWith({ byIp: 100 });
  const result = await pass(createTokenRateLimit(throttles), contextFor(method, path));
  assert.equal(result.reached, true, `${method} ${path} goes on`);
  return ((await throttles.byIp!.get(ip))?.consumedPoints ?? 0) === 1;
};

describe('token request rates: which paths are counted', () => {
  it('POST to the three token endpoints, in any case, with or without one trailing slash', async () => {
    for (const path of ['/token', '/token/introspection', '/token/revocation']) {
      for (const spelling of [path, `${path}/`, path.toUpperCase(), `${path.toUpperCase()}/`]) {
        assert.equal(await counted('POST', spelling), true, spelling);
      }
    }
    // A query string is not part of the path (Koa's ctx.path).
    assert.equal(await counted('POST', '/token?grant_type=client_credentials'), true);
  });

  it('other methods and other paths are not counted', async () => {
    for (const [method, path] of [
      ['GET', '/token'],
      ['OPTIONS', '/token'],
      ['POST', '/token//'],
      ['POST', '/tokens'],
      ['POST', '/token/introspect'],
      ['POST', '/token/revocation/x'],
      ['POST', '//token'],
      ['POST', '/'],
      ['POST', '/admin/clients'],
      ['POST', '/auth'],
    ] as const) {
      assert.equal(await counted(method, path), false, `${method} ${path}`);
    }
  });

  it('any path: counted exactly when the library\'s router would serve it as a token endpoint', async () => {
    const endpoints = ['/token', '/token/introspection', '/token/revocation'];
    const segment = fc.constantFrom('token', 'TOKEN', 'Token', 'introspection', 'revocation', 'Revocation', 'admin', 'tokens', '');
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.boolean(), async (segments, trailing) => {
        const path = `/${segments.join('/')}${trailing ? '/' : ''}`;
        const folded = path.toLowerCase();
        const served = endpoints.includes(folded) || endpoints.includes(folded.replace(/\/$/, ''));
        assert.equal(await counted('POST', path), served, path);
      }),
      { numRuns: 150, seed: 16 },
    );
  });

  it('over the per-IP rate: 429 slow_down with Retry-After, before the endpoint runs', async () => {
    const throttles = throttlesWith({ byIp: 2 });
    const limit = createTokenRateLimit(throttles, (name) => limited.push(name));
    const limited: string[] = [];
    for (let index = 0; index < 2; index += 1) assert.equal((await pass(limit, contextFor('POST', '/token'))).reached, true);
    const third = await pass(limit, contextFor('POST', '/token/'));
    assert.equal(third.reached, false);
    // RFC 6585 §4: 429 with Retry-After; the error code is RFC 8628 §3.5's.
    const error = third.error as ThrottleError;
    assert.equal(error.status, 429);
    assert.equal(error.code, 'slow_down');
    assert.match(error.headers?.['Retry-After'] ?? '', /^[1-9]\d*$/);
    assert.deepEqual(limited, ['token_ip']);
  });
});

describe('token request rates: a spent client is known by its Basic header', () => {
  const basic = (pair: string) => ({ authorization: `Basic ${Buffer.from(pair).toString('base64')}` });

  it('the client id is form-URL-decoded (%-escapes, +), other clients and wrong-looking headers pass', async () => {
    const throttles = throttlesWith({ byClient: 1 });
    const limited: string[] = [];
    const limit = createTokenRateLimit(throttles, (name) => limited.push(name));
    // The request that authenticates as "ops svc" takes its last point.
    assert.equal((await pass(limit, contextFor('POST', '/token'), 'ops svc')).reached, true);
    for (const pair of ['ops svc:x', 'ops+svc:anything', 'ops%20svc:y', 'ops%20svc:']) {
      const refused = await pass(limit, contextFor('POST', '/token/introspection', basic(pair)));
      assert.equal(refused.reached, false, pair);
      assert.equal((refused.error as ThrottleError).status, 429, pair);
    }
    assert.deepEqual(limited, ['token_client', 'token_client', 'token_client', 'token_client']);
    // Another id, an undecodable escape, no id, a non-Basic scheme: the check after authentication decides.
    for (const headers of [basic('ops:x'), basic('ops%2:x'), basic(':x'), { authorization: 'Bearer b3BzIHN2Yzp4' }, {}]) {
      assert.equal((await pass(limit, contextFor('POST', '/token', headers))).reached, true, JSON.stringify(headers));
    }
  });

  it('a failed authentication spends nothing of the client it named', async () => {
    const throttles = throttlesWith({ byClient: 1 });
    const limit = createTokenRateLimit(throttles);
    // No authenticated client: nobody's budget is spent, so the named client is never locked out.
    for (let index = 0; index < 3; index += 1) assert.equal((await pass(limit, contextFor('POST', '/token', basic('svc:wrong')))).reached, true);
    assert.equal(await throttles.byClient!.get('svc'), null);
  });
});
