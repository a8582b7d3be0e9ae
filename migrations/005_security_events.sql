-- The audit trail: security-relevant events (token exchanges, refused client assertions, …).
-- Never holds secrets or tokens: identifiers, reasons and the delegation chain only.
CREATE TABLE security_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  type        text NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('success', 'failure')),
  client_id   text,
  sub         text,
  details     json NOT NULL DEFAULT '{}'
);
CREATE INDEX security_events_occurred_at_idx ON security_events (occurred_at);
CREATE INDEX security_events_type_idx ON security_events (type, occurred_at);
CREATE INDEX security_events_client_idx ON security_events (client_id, occurred_at);
CREATE INDEX security_events_sub_idx ON security_events (sub, occurred_at);
