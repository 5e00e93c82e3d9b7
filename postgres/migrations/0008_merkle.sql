-- The audit log's RFC 6962 Merkle tree: every complete node, as the
-- ledger computed it, so proofs are built from stored hashes; the head
-- keeps the tree's compact range so an append reads nothing else.
ALTER TABLE audit_head ADD COLUMN tree_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN tree_range BYTEA NOT NULL DEFAULT ''::bytea;

CREATE TABLE merkle_nodes (
    level SMALLINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TRIGGER merkle_nodes_immutable BEFORE UPDATE OR DELETE ON merkle_nodes
FOR EACH ROW EXECUTE FUNCTION fairway_refuse_change('audit tree nodes are immutable: the log is append-only');
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes
FOR EACH STATEMENT EXECUTE FUNCTION fairway_refuse_change('audit tree nodes are immutable: the log is append-only');

-- Signed checkpoints of the tree (C2SP signed notes). The private key
-- that signed them is never stored.
CREATE TABLE audit_checkpoints (
    id           BIGSERIAL PRIMARY KEY,
    origin       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    root         BYTEA NOT NULL,
    note         TEXT NOT NULL UNIQUE,
    key_name     TEXT NOT NULL,
    verifier_key TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL
);
CREATE INDEX audit_checkpoints_size ON audit_checkpoints (size DESC, id DESC);
