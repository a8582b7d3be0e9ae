// Prometheus metrics (prom-client), one registry per server. Names follow Prometheus
// conventions; labels are bounded (routes are normalised, never raw paths or ids).
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'route' | 'method' | 'status'>;
  readonly tokensIssued: Counter<'grant_type'>;
  readonly tokenFastPath: Counter<'endpoint' | 'outcome'>;
  readonly logins: Counter<'outcome'>;
  readonly throttled: Counter<'limit'>;
  readonly storeDuration: Histogram<'store' | 'operation'>;
  readonly storeErrors: Counter<'store' | 'operation'>;
  readonly cacheLookups: Counter<'cache' | 'result'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'portcullis_' });
  const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  return {
    registry,
    httpDuration: new Histogram({
      name: 'portcullis_http_request_duration_seconds',
      // Its _count is the request counter: rate(portcullis_http_request_duration_seconds_count[1m]).
      help: 'HTTP requests and their latency by normalised route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    tokensIssued: new Counter({
      name: 'portcullis_tokens_issued_total',
      help: 'Successful token endpoint responses by grant type',
      labelNames: ['grant_type'],
      registers: [registry],
    }),
    tokenFastPath: new Counter({
      name: 'portcullis_token_fast_path_requests_total',
      help: 'Token and introspection requests answered by the fast path (served) or handed to oidc-provider (handed_over)',
      labelNames: ['endpoint', 'outcome'],
      registers: [registry],
    }),
    logins: new Counter({
      name: 'portcullis_logins_total',
      help: 'Password logins by outcome (succeeded, failed, throttled)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    throttled: new Counter({
      name: 'portcullis_throttled_requests_total',
      help: 'Requests refused by a rate limit',
      labelNames: ['limit'],
      registers: [registry],
    }),
    storeDuration: new Histogram({
      name: 'portcullis_store_operation_duration_seconds',
      help: 'Latency of store operations (ephemeral store, revocation store)',
      labelNames: ['store', 'operation'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'portcullis_store_errors_total',
      help: 'Failed store operations',
      labelNames: ['store', 'operation'],
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: 'portcullis_cache_lookups_total',
      help: 'In-process cache lookups (clients, APIs) by result (hit, miss)',
      labelNames: ['cache', 'result'],
      registers: [registry],
    }),
  };
}

/** A bounded route label: known prefixes kept, ids and other variable segments replaced. */
export function normaliseRoute(path: string): string {
  if (path.startsWith('/.well-known/')) return path;
  if (path.startsWith('/interaction/')) return path.replace(/^\/interaction\/[^/]+/, '/interaction/:uid');
  if (path.startsWith('/auth/')) return '/auth/:uid';
  if (path.startsWith('/admin/')) {
    const [, , collection, id, action] = path.split('/');
    return ['/admin', collection, id === undefined ? undefined : ':id', action].filter((part) => part !== undefined).join('/');
  }
  const known = ['/token', '/token/introspection', '/token/revocation', '/auth', '/jwks', '/me', '/session/end', '/session/end/confirm', '/session/end/success', '/revocations', '/healthz', '/readyz', '/metrics', '/assets/portcullis.css', '/request'];
  return known.includes(path) ? path : 'other';
}

/**
 * The labelled child of a metric, bound once per label set. prom-client hashes the label object
 * on every inc/observe; hot paths (every request, every store call) look the child up by a
 * string key instead. Only for bounded label sets.
 */
export function childrenOf<Child>(bind: (labels: Record<string, string>) => Child): (key: string, labels: () => Record<string, string>) => Child {
  const children = new Map<string, Child>();
  return (key, labels) => {
    let child = children.get(key);
    if (child === undefined) {
      child = bind(labels());
      children.set(key, child);
    }
    return child;
  };
}
