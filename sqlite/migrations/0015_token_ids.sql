-- Tokens one by one: each has an id (the first 16 hex digits of its hash,
-- which the audit log already names), may expire, and says whether a
-- login link minted it. A login link row keeps the life of the token it
-- will mint. Times were seconds here, and are nanoseconds everywhere else:
-- they become nanoseconds.
ALTER TABLE tokens ADD COLUMN id TEXT NOT NULL DEFAULT '';
UPDATE tokens SET id = substr(hash, 1, 16);
-- Rows loaded from an export made before ids have none until FinishLoad
-- gives them theirs.
CREATE UNIQUE INDEX tokens_id ON tokens (id) WHERE id <> '';
ALTER TABLE tokens ADD COLUMN from_link INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN token_ttl INTEGER NOT NULL DEFAULT 0;
UPDATE tokens SET created_at = created_at * 1000000000 WHERE created_at < 100000000000;
