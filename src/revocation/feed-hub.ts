// One LISTEN per process fans revocation events out to every connected feed subscriber.
// A subscriber first replays what it missed (from its last event id) and then receives live
// events; live events arriving during the replay are held back and sent after it, in order.
import type { Database } from '../stores/database.js';
import { missedMessages } from '../stores/database.js';
import { latestRevocationEventId, listRevocationEvents, revocationFeedChannel, type RevocationEvent } from '../stores/revocation-events.js';

const pageSize = 1000;

export interface FeedSubscriber {
  send(event: RevocationEvent): void;
  /** The hub is shutting down: end the stream. */
  end(): void;
}

export interface FeedHub {
  subscribe(subscriber: FeedSubscriber, afterId: number): Promise<() => void>;
  close(): Promise<void>;
}

interface Subscription {
  subscriber: FeedSubscriber;
  lastSent: number;
  replaying: boolean;
  held: RevocationEvent[];
}

function deliver(subscription: Subscription, events: readonly RevocationEvent[]): void {
  for (const event of events) {
    if (event.id <= subscription.lastSent) continue;
    subscription.subscriber.send(event);
    subscription.lastSent = event.id;
  }
}

export async function createFeedHub(db: Database): Promise<FeedHub> {
  const subscriptions = new Set<Subscription>();
  let broadcastUpTo = await latestRevocationEventId(db);
  let fetching: Promise<void> | undefined;
  let again = false;

  // Notifications only say "something new"; read everything after what was broadcast.
  const catchUp = (): void => {
    if (fetching) {
      again = true;
      return;
    }
    fetching = (async () => {
      do {
        again = false;
        for (;;) {
          const events = await listRevocationEvents(db, broadcastUpTo, pageSize);
          if (events.length === 0) break;
          broadcastUpTo = events[events.length - 1]!.id;
          for (const subscription of subscriptions) {
            if (subscription.replaying) subscription.held.push(...events);
            else deliver(subscription, events);
          }
          if (events.length < pageSize) break;
        }
      } while (again);
    })()
      .catch(() => {
        // Postgres is away; the next notification (or the reconnect's missedMessages) retries.
      })
      .finally(() => {
        fetching = undefined;
      });
  };

  let closing: Promise<void> | undefined;
  const stopListening = await db.listen(revocationFeedChannel, (payload) => {
    if (payload === missedMessages || payload) catchUp();
  });

  return {
    async subscribe(subscriber, afterId) {
      const subscription: Subscription = { subscriber, lastSent: afterId, replaying: true, held: [] };
      subscriptions.add(subscription);
      try {
        for (;;) {
          const events = await listRevocationEvents(db, subscription.lastSent, pageSize);
          deliver(subscription, events);
          if (events.length < pageSize) break;
        }
      } catch (error) {
        subscriptions.delete(subscription);
        throw error;
      }
      subscription.replaying = false;
      deliver(subscription, subscription.held.splice(0));
      return () => {
        subscriptions.delete(subscription);
      };
    },
    async close() {
      for (const subscription of subscriptions) subscription.subscriber.end();
      subscriptions.clear();
      closing ??= stopListening();
      await closing;
    },
  };
}
