-- TOTP second factor (RFC 6238). The secret is stored encrypted (AES-256-GCM with the data key
-- from KEYS_DIR); recovery codes only as SHA-256 digests.
ALTER TABLE users ADD COLUMN totp_secret text;
ALTER TABLE users ADD COLUMN totp_confirmed_at timestamptz;
-- The last accepted time step: a code is accepted once (RFC 6238 §5.2).
ALTER TABLE users ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN mfa_required boolean NOT NULL DEFAULT false;

CREATE TABLE recovery_codes (
  sub          text NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
  code_digest  text NOT NULL,
  used_at      timestamptz,
  PRIMARY KEY (sub, code_digest)
);
