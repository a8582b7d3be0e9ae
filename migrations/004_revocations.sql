-- Revocation state when REDIS_URL is unset (the Redis store keeps the same in keys with TTLs).
-- Compact by design: one row per revoked token id, and one "revoked before" time per subject,
-- client or grant; every row expires with the longest-lived token it could cover.

CREATE TABLE revoked_tokens (
  jti         text PRIMARY KEY,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires_at_idx ON revoked_tokens (expires_at);

CREATE TABLE revoked_before (
  kind        text NOT NULL CHECK (kind IN ('sub', 'client', 'grant')),
  id          text NOT NULL,
  revoked_at  bigint NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE INDEX revoked_before_expires_at_idx ON revoked_before (expires_at);
