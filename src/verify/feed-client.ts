// Follows the revocation feed (Server-Sent Events) for as long as it runs: reconnects after a
// drop with Last-Event-ID, gets a fresh access token when the old one is refused, and reports
// when it is up to date (the server's `ready` event) or has lost contact.
import { RevocationState, type RevocationEventData } from './revocation-state.js';

export interface FeedClientOptions {
  url: string;
  getAccessToken(): Promise<string>;
  fetch: typeof fetch;
  onError?: ((error: Error) => void) | undefined;
}

export interface FeedClient {
  readonly state: RevocationState;
  /** True while connected and caught up. */
  readonly live: boolean;
  /** When the feed was last known to be up to date (ms since epoch), 0 before the first time. */
  readonly lastUpToDate: number;
  ready(): Promise<void>;
  close(): void;
}

const reconnectDelayMs = 1_000;

export function startFeedClient(options: FeedClientOptions): FeedClient {
  const state = new RevocationState();
  let lastEventId = '0';
  let live = false;
  let lastUpToDate = 0;
  let stopped = false;
  const controller = new AbortController();
  let markReady: () => void = () => {};
  const firstReady = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const handleEvent = (event: string, data: string, id: string | undefined): void => {
    if (id !== undefined) lastEventId = id;
    if (event === 'ready') {
      live = true;
      lastUpToDate = Date.now();
      markReady();
    } else if (event === 'revocation') {
      state.apply(JSON.parse(data) as RevocationEventData);
      if (live) lastUpToDate = Date.now();
    }
  };

  const readStream = async (body: ReadableStream<Uint8Array>): Promise<void> => {
    const decoder = new TextDecoder();
    let buffer = '';
    let event = 'message';
    let data: string[] = [];
    let id: string | undefined;
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          if (data.length) handleEvent(event, data.join('\n'), id);
          event = 'message';
          data = [];
          id = undefined;
        } else if (line.startsWith(':')) {
          if (live) lastUpToDate = Date.now();
        } else {
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
          else if (field === 'id') id = value;
        }
      }
    }
  };

  const run = async (): Promise<void> => {
    let token: string | undefined;
    while (!stopped) {
      try {
        token ??= await options.getAccessToken();
        const response = await options.fetch(options.url, {
          headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'last-event-id': lastEventId },
          signal: controller.signal,
        });
        if (response.status === 401) {
          token = undefined;
          throw new Error('the revocation feed refused the access token');
        }
        if (!response.ok || !response.body) throw new Error(`the revocation feed answered ${response.status}`);
        await readStream(response.body);
        throw new Error('the revocation feed closed the stream');
      } catch (error) {
        live = false;
        if (stopped) return;
        options.onError?.(error as Error);
        await new Promise((resolve) => setTimeout(resolve, reconnectDelayMs).unref());
      }
    }
  };
  void run();

  const prune = setInterval(() => state.prune(Math.floor(Date.now() / 1000)), 60_000);
  prune.unref();

  return {
    state,
    get live() {
      return live;
    },
    get lastUpToDate() {
      return lastUpToDate;
    },
    ready: () => firstReady,
    close() {
      stopped = true;
      clearInterval(prune);
      controller.abort();
    },
  };
}
