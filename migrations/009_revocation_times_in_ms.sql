-- Revocation times in milliseconds since the epoch (issue #14): at second precision a token
-- issued in the same second *after* a revocation was born revoked. Existing marks are in epoch
-- seconds and covered the whole second named ("issued at or before this second"), so each
-- becomes that second's last millisecond: what they revoked stays revoked. Readers also take a
-- value below 10^11 as seconds (an instance not yet upgraded may still write one).
UPDATE revoked_before SET revoked_at = revoked_at * 1000 + 999 WHERE revoked_at < 100000000000;

-- For kind 'jti', revoked_at only says when; for the others it is the mark, as above.
UPDATE revocation_events
   SET revoked_at = CASE WHEN kind = 'jti' THEN revoked_at * 1000 ELSE revoked_at * 1000 + 999 END
 WHERE revoked_at < 100000000000;

COMMENT ON COLUMN revoked_before.revoked_at IS
  'ms since the epoch: tokens issued at or before this millisecond are revoked';
COMMENT ON COLUMN revocation_events.revoked_at IS
  'ms since the epoch: for jti when it was revoked; otherwise tokens issued at or before this millisecond are revoked';
