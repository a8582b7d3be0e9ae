-- System of record: clients, users, APIs (resources). Forward-only: never edit after it lands.

CREATE TABLE clients (
  client_id      text PRIMARY KEY,
  metadata       jsonb NOT NULL,
  -- SHA-256 of a server-generated 256-bit secret, hex; NULL for key- or none-authenticated clients.
  secret_digest  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  sub             text PRIMARY KEY,
  username        text NOT NULL,
  password_hash   text NOT NULL,
  email           text,
  email_verified  boolean NOT NULL DEFAULT false,
  name            text,
  given_name      text,
  family_name     text,
  disabled        boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Usernames are unique regardless of case, so "Alice" cannot shadow "alice".
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TABLE resources (
  identifier           text PRIMARY KEY,
  name                 text,
  scopes               text[] NOT NULL DEFAULT '{}',
  access_token_ttl     integer NOT NULL CHECK (access_token_ttl > 0),
  access_token_format  text NOT NULL DEFAULT 'jwt' CHECK (access_token_format IN ('jwt', 'opaque')),
  -- The client that acts for this API (token exchange: it may trade tokens addressed to it).
  client_id            text REFERENCES clients (client_id) ON DELETE SET NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resources_client_id_idx ON resources (client_id);
