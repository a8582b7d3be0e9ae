-- RFC 9449: an API may accept only DPoP-bound access tokens. The token endpoint then issues
-- tokens for it only against a DPoP proof (every grant, token exchange included).
ALTER TABLE resources ADD COLUMN IF NOT EXISTS dpop_bound_access_tokens boolean NOT NULL DEFAULT false;
