// Revocation state as the rest of the server sees it. Every revocation is recorded in Postgres
// with its feed event, in one transaction (stores/revocations/record.ts), before anything else;
// with REDIS_URL, Redis holds a copy for fast checks that the relay keeps in step and rebuilds
// when Redis loses it (revocation-relay.ts). A check trusts the copy only while it is complete;
// otherwise it asks the record. So the feed resource servers stream and the answers of this
// server come from one source and never disagree, and no Redis restart revives a token.
//
// A "revoked before" mark revokes what was issued at or before its millisecond. The mark is set
// a little ahead of the moment asked for (revocationClockMarginMs), and the call returns only
// once the clock has passed the mark, so a token issued after the revocation answered (on this
// instance, or on any whose clock is within the margin: README "Clocks") is issued later than the
// mark and lives, while everything issued before it is dead, even on an instance whose clock runs
// up to the margin ahead of this one's. Seconds of granularity used to absorb such skew by
// accident (and revoked the next tokens of the same second with it); the margin does it on purpose.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { Database, Queryable } from '../stores/database.js';
import { purgeExpiredRevocationEvents } from '../stores/revocation-events.js';
import { isRevokedInRecord, purgeExpiredRevocations, recordRevocation } from '../stores/revocations/record.js';
import { createRedisRevocationCopy } from '../stores/revocations/redis.js';
import type { RedisConnection } from '../stores/redis-client.js';
import type { RevocationStore, RevocationWriter, TokenIdentity } from '../stores/revocations/types.js';
import { createRevocationRelay } from './revocation-relay.js';

const purgeIntervalMs = 10 * 60_000;

// The feed serves resource servers, which only see access tokens: those live at most a day
// (an API's TTL is capped at 86 400 s), so feed events need not outlive that.
const feedEventLifetime = 24 * 60 * 60 + 60;

/**
 * Milliseconds a "revoked before" mark is set ahead of the moment of revocation: clock skew
 * between instances up to this much fails closed (a token issued elsewhere just before the
 * revocation, stamped by a clock running ahead, is still covered). Each revocation answers this
 * much later; tokens issued in that window are revoked too (the client asks again).
 */
export const revocationClockMarginMs = 100;

/** Resolves once Date.now() is past `at` (ms). */
async function passMillisecond(at: number): Promise<void> {
  const wait = at - Date.now() + 1;
  if (wait > 0) await sleep(wait);
  while (Date.now() <= at) await sleep(1);
}

interface Checks {
  isRevoked(token: TokenIdentity): Promise<boolean>;
  /** After a commit that recorded revocations up to `seq`. */
  recorded(seq: number): Promise<void>;
  close(): Promise<void>;
}

/** Checks on Redis's copy while it is complete, else on the record. */
async function redisChecks(db: Database, redis: RedisCopyOptions, log: Logger): Promise<Checks> {
  const copy = createRedisRevocationCopy({ redis: redis.connection, keyPrefix: redis.keyPrefix });
  const relay = await createRevocationRelay({ db, copy, log, checkIntervalMs: redis.checkIntervalMs });
  return {
    async isRevoked(token) {
      const answer = await copy.check(token);
      if (answer.revoked) return true;
      if (relay.canAnswer(answer.completeUpTo)) return false;
      void relay.catchUp();
      return isRevokedInRecord(db, token);
    },
    async recorded(seq) {
      relay.recorded(seq);
      // So that this instance's checks answer from Redis again right away; if Redis is away the
      // relay keeps trying, and checks ask the record meanwhile.
      await relay.catchUp();
    },
    close: () => relay.close(),
  };
}

interface RedisCopyOptions {
  connection: RedisConnection;
  keyPrefix: string;
  /** How often the relay looks at the copy when nothing happens (ms; tests lengthen it). */
  checkIntervalMs?: number | undefined;
}

export async function openRevocations(options: {
  db: Database;
  /** Redis's copy; without it every check asks the record. */
  redis?: RedisCopyOptions | undefined;
  log: Logger;
  /** revocationClockMarginMs unless told (the store contract tests give 0, to test exact marks). */
  clockMarginMs?: number | undefined;
}): Promise<RevocationStore> {
  const { db } = options;
  const margin = options.clockMarginMs ?? revocationClockMarginMs;
  const checks: Checks = options.redis
    ? await redisChecks(db, options.redis, options.log)
    : { isRevoked: (token) => isRevokedInRecord(db, token), recorded: async () => {}, close: async () => {} };
  const timer = setInterval(() => {
    void purgeExpiredRevocations(db).catch(() => {});
    void purgeExpiredRevocationEvents(db).catch(() => {});
  }, purgeIntervalMs);
  timer.unref();

  async function withChange<T>(change: (tx: Queryable, revoke: RevocationWriter) => Promise<T>): Promise<T> {
    let latestSeq = 0;
    let latestMark = 0;
    const result = await db.transaction(async (tx) =>
      change(tx, {
        async revokeToken(jti, expiresAt) {
          latestSeq = await recordRevocation(tx, { kind: 'jti', id: jti, expiresAt }, expiresAt);
        },
        async revokeIssuedBefore(kind, id, at, lifetime) {
          const mark = at + margin;
          const now = Math.floor(Date.now() / 1000);
          const revocation = { kind, id, revokedAt: mark, expiresAt: now + lifetime };
          latestSeq = await recordRevocation(tx, revocation, now + Math.min(lifetime, feedEventLifetime));
          latestMark = Math.max(latestMark, mark);
        },
      }),
    );
    if (latestSeq) await checks.recorded(latestSeq);
    if (latestMark) await passMillisecond(latestMark);
    return result;
  }

  return {
    revokeToken: (jti, expiresAt) => withChange((_tx, revoke) => revoke.revokeToken(jti, expiresAt)),
    revokeIssuedBefore: (kind, id, at, lifetime) => withChange((_tx, revoke) => revoke.revokeIssuedBefore(kind, id, at, lifetime)),
    isRevoked: (token) => checks.isRevoked(token),
    withChange,
    async close() {
      clearInterval(timer);
      await checks.close();
    },
  };
}
