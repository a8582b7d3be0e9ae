-- Revocation state is recorded in Postgres in every set-up (issue #15): with REDIS_URL, Redis
-- holds a copy for fast checks, rebuilt from these rows when it loses them. `seq` is the
-- revocation_events id of the latest change to the row, so "everything after seq N" is what a
-- copy that holds N still lacks (src/revocation/revocation-relay.ts).
ALTER TABLE revoked_tokens ADD COLUMN seq bigint NOT NULL DEFAULT 0;
ALTER TABLE revoked_before ADD COLUMN seq bigint NOT NULL DEFAULT 0;
CREATE INDEX revoked_tokens_seq_idx ON revoked_tokens (seq);
CREATE INDEX revoked_before_seq_idx ON revoked_before (seq);

-- Until now a server with Redis kept its revocations only there (and the feed's events here).
-- The feed holds every revocation of the last day, which covers every access token (an API's
-- TTL is at most a day): record those, so the copy rebuilt from here keeps them. A "revoked
-- before" mark lives 14 days from its revocation (revokedBeforeLifetime in
-- src/stores/revocations/types.ts); older marks stay in Redis as long as Redis keeps them.
INSERT INTO revoked_tokens (jti, expires_at, seq)
SELECT value, max(expires_at), max(id) FROM revocation_events
 WHERE kind = 'jti' AND expires_at > now()
 GROUP BY value
ON CONFLICT (jti) DO UPDATE SET
  expires_at = GREATEST(revoked_tokens.expires_at, excluded.expires_at),
  seq = GREATEST(revoked_tokens.seq, excluded.seq);

INSERT INTO revoked_before (kind, id, revoked_at, expires_at, seq)
SELECT kind, value, max(revoked_at), to_timestamp(max(revoked_at) / 1000.0) + interval '14 days 60 seconds', max(id)
  FROM revocation_events
 WHERE kind <> 'jti' AND expires_at > now()
 GROUP BY kind, value
ON CONFLICT (kind, id) DO UPDATE SET
  revoked_at = GREATEST(revoked_before.revoked_at, excluded.revoked_at),
  expires_at = GREATEST(revoked_before.expires_at, excluded.expires_at),
  seq = GREATEST(revoked_before.seq, excluded.seq);
