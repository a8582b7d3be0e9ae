// Latency and errors of every store call, without the stores knowing: each async method is
// wrapped (once per method) to time it and count failures.
import { childrenOf, type Metrics } from './metrics.js';

export function instrumentStore<T extends object>(store: T, name: string, metrics: Metrics): T {
  const durationOf = childrenOf((labels) => metrics.storeDuration.labels(labels));
  const wrapped = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const wrap = (method: (...params: unknown[]) => Promise<unknown>, operation: string) =>
    async (...args: unknown[]): Promise<unknown> => {
      const started = performance.now();
      try {
        return await method.apply(store, args);
      } catch (error) {
        metrics.storeErrors.inc({ store: name, operation });
        throw error;
      } finally {
        durationOf(operation, () => ({ store: name, operation })).observe((performance.now() - started) / 1000);
      }
    };
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'close') return value;
      let method = wrapped.get(property);
      if (!method) {
        method = wrap(value as (...params: unknown[]) => Promise<unknown>, property);
        wrapped.set(property, method);
      }
      return method;
    },
  });
}
