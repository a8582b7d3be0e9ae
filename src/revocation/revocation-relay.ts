// Keeps Redis's copy of the revocation state (stores/revocations/redis.ts) in step with its
// record in Postgres (stores/revocations/record.ts), and tells checks when the copy can answer.
//
// The copy may answer a check only if it is complete up to the latest revocation this instance
// knows was recorded (its own, and every other instance's through the feed's NOTIFY). When it is
// not — a revocation recorded a moment ago, a Redis that hiccuped while one was written, a Redis
// flushed or replaced by an empty one (no completeness mark at all), or one restored from an
// older copy (a lower mark) — the check asks the record instead (fails closed: never a revoked
// token accepted because Redis forgot it), and the relay brings the copy up to date:
//   - caught up: the marks recorded after the copy's completeness mark, in sequence order;
//   - rebuilt, when Redis has no copy: every unexpired mark, then the completeness mark, but only
//     if nothing was lost while the rebuild ran.
// It runs after each revocation this instance records, on each NOTIFY, and every couple of
// seconds, so a Redis that lost its data is found even when nothing is checked or revoked.
import type { Logger } from '../log.js';
import { rateLimited } from '../rate-limited.js';
import { missedMessages, type Database } from '../stores/database.js';
import { revocationFeedChannel } from '../stores/revocation-events.js';
import { latestRevocationSeq, listMarksAfter } from '../stores/revocations/record.js';
import type { RedisRevocationCopy } from '../stores/revocations/redis.js';

const pageSize = 500;

/** How often the copy is checked even when nothing happens (ms). */
const defaultCheckIntervalMs = 2_000;

export interface RevocationRelay {
  /** Whether a copy complete up to this sequence number holds every revocation this instance knows of. */
  canAnswer(completeUpTo: number | undefined): boolean;
  /** This instance recorded a revocation (before its NOTIFY comes back). */
  recorded(seq: number): void;
  /** Brings the copy up to date; never throws (a failure is logged and retried). */
  catchUp(): Promise<void>;
  close(): Promise<void>;
}

export async function createRevocationRelay(deps: {
  db: Database;
  copy: RedisRevocationCopy;
  log: Logger;
  checkIntervalMs?: number | undefined;
}): Promise<RevocationRelay> {
  const { db, copy, log } = deps;
  let knownUpTo = await latestRevocationSeq(db);
  let running: Promise<void> | undefined;
  let again = false;
  const reportFailure = rateLimited<unknown>(
    (error, suppressed) =>
      log.warn({ err: error instanceof Error ? error.message : String(error), suppressed }, 'revocation state: Redis copy not updated; checks ask Postgres until it is'),
    10_000,
  );
  const learn = (seq: number) => {
    if (seq > knownUpTo) knownUpTo = seq;
  };

  async function rebuild(): Promise<void> {
    const started = Date.now();
    const headBefore = await latestRevocationSeq(db);
    learn(headBefore);
    const nonce = await copy.beginRebuild();
    let after = 0;
    let copied = 0;
    for (;;) {
      const marks = await listMarksAfter(db, after, pageSize);
      if (marks.length === 0) break;
      if (!(await copy.copyForRebuild(nonce, marks))) throw new Error('Redis lost the revocation copy while it was rebuilt');
      copied += marks.length;
      after = marks[marks.length - 1]!.seq;
      if (marks.length < pageSize) break;
    }
    if (!(await copy.finishRebuild(nonce, Math.max(headBefore, after)))) {
      throw new Error('Redis lost the revocation copy while it was rebuilt');
    }
    log.warn(
      { marks: copied, completeUpTo: Math.max(headBefore, after), ms: Date.now() - started },
      'revocation state: Redis held no copy (new, flushed or replaced); rebuilt it from Postgres',
    );
  }

  async function bringUpToDate(): Promise<void> {
    for (let round = 0; round < 3; round += 1) {
      const complete = await copy.completeUpTo();
      if (complete === undefined) {
        await rebuild();
        return;
      }
      if (complete > knownUpTo) {
        // Another instance may have copied what this one has not heard of yet; but a copy ahead
        // of the record itself belongs to another record (Postgres restored from a backup, or
        // REDIS_URL shared with another deployment under the same prefix): it would hide every
        // revocation recorded from now on up to its mark. Start it afresh.
        learn(await latestRevocationSeq(db));
        if (complete > knownUpTo) {
          log.error({ completeUpTo: complete, recordedUpTo: knownUpTo }, 'revocation state: the Redis copy is ahead of the Postgres record; rebuilding it');
          await copy.forget();
          continue;
        }
      }
      let from = complete;
      for (;;) {
        // Everything up to headBefore was committed before this read began (it was learned
        // from committed state), so the read sees it; ids commit in order (record.ts).
        const headBefore = knownUpTo;
        const marks = await listMarksAfter(db, from, pageSize);
        const last: number = marks.length ? marks[marks.length - 1]!.seq : from;
        learn(last);
        const through: number = marks.length < pageSize ? Math.max(headBefore, last) : last;
        if (through <= from) return;
        if (!(await copy.extend(marks, from, through))) break; // lost meanwhile: look again
        from = through;
        if (marks.length < pageSize) return;
      }
    }
    throw new Error('the Redis revocation copy kept changing under the catch-up');
  }

  const catchUp = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await bringUpToDate();
      } while (again);
    })()
      .catch(reportFailure)
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const stopListening = await db.listen(revocationFeedChannel, (payload) => {
    if (payload === missedMessages) {
      // Notifications may have been lost while the listener reconnected: ask the record.
      void latestRevocationSeq(db).then(learn, () => {}).finally(() => void catchUp());
      return;
    }
    const seq = Number(payload);
    if (Number.isSafeInteger(seq)) learn(seq);
    void catchUp();
  });
  const timer = setInterval(() => void catchUp(), deps.checkIntervalMs ?? defaultCheckIntervalMs);
  timer.unref();
  await catchUp();

  return {
    canAnswer: (completeUpTo) => completeUpTo !== undefined && completeUpTo >= knownUpTo,
    recorded: learn,
    catchUp,
    async close() {
      clearInterval(timer);
      await stopListening();
      await running;
    },
  };
}
