-- A session credential expires with the token that attached the session
-- (nanoseconds; 0: never, as for every session attached before).
ALTER TABLE sessions ADD COLUMN credential_expires_at INTEGER NOT NULL DEFAULT 0;
