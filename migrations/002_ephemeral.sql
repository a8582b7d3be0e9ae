-- Short-lived oidc-provider records (sessions, interactions, codes, refresh tokens, grants,
-- replay markers) when REDIS_URL is unset. Same contract as the Redis store.

CREATE TABLE ephemeral_records (
  model        text NOT NULL,
  id           text NOT NULL,
  -- json, not jsonb: jsonb refuses \u0000 and lone surrogates, which request parameters
  -- stored in interactions may carry; Redis keeps them, so must we.
  payload      json NOT NULL,
  grant_id     text,
  uid          text,
  user_code    text,
  expires_at   timestamptz NOT NULL,
  consumed_at  timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX ephemeral_records_grant_id_idx ON ephemeral_records (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX ephemeral_records_uid_idx ON ephemeral_records (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX ephemeral_records_user_code_idx ON ephemeral_records (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX ephemeral_records_expires_at_idx ON ephemeral_records (expires_at);
