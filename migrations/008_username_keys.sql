-- Usernames are compared in one normalised form (src/credentials/usernames.ts: NFKC, one case
-- fold, NFKC again) instead of SQL lower(), which folds differently from JavaScript and, on
-- Postgres, by collation: a look-alike spelling found the account through lower() while the login
-- throttle counted it as another name (issue #14). Forward-only: never edit after it lands.
--
-- SQL cannot compute NFKC and the JavaScript case fold faithfully, so TypeScript fills both
-- columns: src/stores/users.ts on every insert and rename, and, for rows older than this
-- migration, src/stores/username-keys.ts, which migrate() runs in its transaction under the
-- migration lock. The columns stay nullable: a row whose key another account already holds (two
-- old usernames that normalise alike) keeps NULL, cannot sign in until renamed, and is named in
-- a warning at every start.

-- The exact-match key for lookups at login and for uniqueness.
ALTER TABLE users ADD COLUMN username_key text;
-- A coarser key (no combining marks), only to refuse look-alike duplicates at creation.
ALTER TABLE users ADD COLUMN username_lookalike_key text;

CREATE UNIQUE INDEX users_username_key_idx ON users (username_key);
CREATE UNIQUE INDEX users_username_lookalike_key_idx ON users (username_lookalike_key);
-- Rows still waiting for a key (or left without one): found at start without a scan.
CREATE INDEX users_username_keys_missing_idx ON users (created_at, sub)
  WHERE username_key IS NULL OR username_lookalike_key IS NULL;

-- Uniqueness is the normalised key's job now; lower() would refuse by a different rule.
DROP INDEX users_username_key;
