// What a worker tells the cluster primary over the IPC channel: that it serves (so the primary
// knows a later exit is a crash, not a start-up failure), or why it could not start (so the primary
// can print that one line and decide whether trying again can help).

export type WorkerMessage =
  | { readonly portcullis: 'ready' }
  | { readonly portcullis: 'startup-failed'; readonly line: string; readonly retryable: boolean };

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  if (typeof message !== 'object' || message === null) return false;
  const kind = (message as { portcullis?: unknown }).portcullis;
  if (kind === 'ready') return true;
  const { line, retryable } = message as { line?: unknown; retryable?: unknown };
  return kind === 'startup-failed' && typeof line === 'string' && typeof retryable === 'boolean';
}

/** Sends to the primary and resolves once the message has left (before the worker exits). */
export function tellPrimary(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}
