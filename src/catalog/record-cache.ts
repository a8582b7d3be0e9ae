// Records by id, loaded on first use and kept in process: bounded (oldest first out), aged out
// after a while as a safety net, and dropped at once when told the record changed. A load that
// started before a drop is not cached after it (the catalog's generation counter says so).
import { isStorableText } from '../stores/text.js';

interface Entry<T> {
  record: T | undefined;
  loadedAt: number;
}

export interface RecordCache<T> {
  find(id: string): Promise<T | undefined>;
  drop(id: string): void;
  clear(): void;
}

export function createRecordCache<T>(options: {
  load(id: string): Promise<T | undefined>;
  limit: number;
  maxAgeMs: number;
  /** The catalog's invalidation counter, read when a load starts and when it ends. */
  generation(): number;
  onLookup(hit: boolean): void;
}): RecordCache<T> {
  const entries = new Map<string, Entry<T> | Promise<Entry<T>>>();
  const load = (id: string): Promise<Entry<T>> => {
    const started = options.generation();
    const pending = options.load(id).then(
      (record) => {
        const entry = { record, loadedAt: Date.now() };
        if (started === options.generation()) {
          if (entries.size >= options.limit) entries.delete(entries.keys().next().value as string);
          entries.set(id, entry);
        } else {
          entries.delete(id);
        }
        return entry;
      },
      (error: unknown) => {
        entries.delete(id);
        throw error;
      },
    );
    entries.set(id, pending);
    return pending;
  };
  return {
    async find(id) {
      // No id of ours can hold a NUL character (the admin schemas refuse it): unknown, no query.
      if (!isStorableText(id)) return undefined;
      const cached = entries.get(id);
      if (cached && (cached instanceof Promise || Date.now() - cached.loadedAt < options.maxAgeMs)) {
        options.onLookup(true);
        return (await cached).record;
      }
      options.onLookup(false);
      return (await load(id)).record;
    },
    drop: (id) => void entries.delete(id),
    clear: () => entries.clear(),
  };
}
