-- The audit log's RFC 6962 Merkle tree: every complete node, as the
-- ledger computed it, so proofs are built from stored hashes; the head
-- keeps the tree's compact range so an append reads nothing else.
ALTER TABLE audit_head ADD COLUMN tree_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN tree_range BLOB NOT NULL DEFAULT x'';

CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'audit tree nodes are immutable: the log is append-only'); END;
CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'audit tree nodes are immutable: the log is append-only'); END;

-- Signed checkpoints of the tree (C2SP signed notes). The private key
-- that signed them is never stored.
CREATE TABLE audit_checkpoints (
    id           INTEGER PRIMARY KEY,
    origin       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    root         BLOB NOT NULL,
    note         TEXT NOT NULL UNIQUE,
    key_name     TEXT NOT NULL,
    verifier_key TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL
);
CREATE INDEX audit_checkpoints_size ON audit_checkpoints (size DESC, id DESC);
