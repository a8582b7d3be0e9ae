-- The revocation feed (GET /revocations/feed): every revocation as an ordered, resumable event.
-- Rows expire with the tokens they cover; a resource server that connects fresh receives every
-- unexpired event, so it knows the whole current revocation state.
CREATE TABLE revocation_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('jti', 'sub', 'client', 'grant')),
  value       text NOT NULL,
  -- For jti: when the token was revoked. For the others: tokens issued at or before this
  -- second (their iat) are revoked.
  revoked_at  bigint NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX revocation_events_expires_at_idx ON revocation_events (expires_at);
