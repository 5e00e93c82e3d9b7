-- A session records the bearer token that attached it, so revoking that
-- token ends it ('' when attached without one, or before this).
ALTER TABLE sessions ADD COLUMN token_id TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_token ON sessions (token_id, state) WHERE token_id <> '';
