-- Consent remembered per user and client (and the scopes given), across browser sessions.
CREATE TABLE consents (
  sub              text NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
  client_id        text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
  oidc_scopes      text[] NOT NULL DEFAULT '{}',
  oidc_claims      text[] NOT NULL DEFAULT '{}',
  -- {"<API identifier>": ["scope", …]}
  resource_scopes  json NOT NULL DEFAULT '{}',
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sub, client_id)
);
CREATE INDEX consents_client_id_idx ON consents (client_id);
