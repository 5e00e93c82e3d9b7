-- A session records the bearer token that attached it, so revoking that
-- token ends it ('' when attached without one, or before this).
ALTER TABLE sessions ADD COLUMN token_id TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_token ON sessions (token_id, state) WHERE token_id <> '';

-- Where the audit log's Merkle tree began: the number of events the log
-- held before it (appended without leaves, caught up by the next write).
-- Only a log with no tree yet (written before migration 0008) began
-- before it; every other log, and every new one, began with its tree, so
-- a tree behind such a log was edited.
ALTER TABLE audit_head ADD COLUMN tree_from INTEGER NOT NULL DEFAULT 0;
UPDATE audit_head SET tree_from = seq WHERE tree_size = 0 AND length(tree_range) = 0;
