// Latency and errors of every store call, without the stores knowing: each async method is
// wrapped to time it and count failures.
import type { Metrics } from './metrics.js';

export function instrumentStore<T extends object>(store: T, name: string, metrics: Metrics): T {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'close') return value;
      return async (...args: unknown[]) => {
        const stop = metrics.storeDuration.startTimer({ store: name, operation: property });
        try {
          return await (value as (...params: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (error) {
          metrics.storeErrors.inc({ store: name, operation: property });
          throw error;
        } finally {
          stop();
        }
      };
    },
  });
}
