package sqlite

import (
	"database/sql"
	"errors"
	"strings"

	"fairway"
)

// insertNodes stores the complete nodes an append finished. In a write
// batch they are kept and stored together just before the commit, as
// the audit head is: one statement for the batch's tree instead of one
// per write.
func (t *tx) insertNodes(nodes []fairway.MerkleNode) error {
	if t.w != nil {
		t.w.nodes = append(t.w.nodes, nodes...)
		return nil
	}
	return t.insertNodesNow(nodes)
}

// insertNodesNow writes nodes, a few hundred to a statement.
func (t *tx) insertNodesNow(nodes []fairway.MerkleNode) error {
	const perStatement = 500
	for len(nodes) > 0 {
		n := min(len(nodes), perStatement)
		q := `INSERT INTO merkle_nodes (level, idx, hash) VALUES (?,?,?)` + strings.Repeat(`,(?,?,?)`, n-1)
		args := make([]any, 0, 3*n)
		for _, node := range nodes[:n] {
			args = append(args, node.Level, node.Index, node.Hash)
		}
		if _, err := t.exec(q, args...); err != nil {
			if isUniqueViolation(err) {
				return fairway.Errorf(fairway.ECONFLICT, "audit tree node %d/%d exists already", nodes[0].Level, nodes[0].Index)
			}
			return err
		}
		nodes = nodes[n:]
	}
	return nil
}

// AppendTree stores the tree nodes of an event already in the log.
func (t *tx) AppendTree(seq int64, tree *fairway.MerkleAppend) error {
	if err := t.insertNodes(tree.Nodes); err != nil {
		return err
	}
	head, err := t.AuditHead()
	if err != nil {
		return err
	}
	head.TreeSize, head.Range = seq, tree.Range
	return t.setHead(head)
}

// MerkleHashes returns the hashes of complete tree nodes.
func (t *tx) MerkleHashes(ids []fairway.MerkleNodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		if h := t.pendingNode(id); h != nil {
			out[i] = h
			continue
		}
		err := t.q.QueryRowContext(t.ctx, `SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?`, id.Level, id.Index).Scan(&out[i])
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fairway.Errorf(fairway.ENOTFOUND, "audit tree node %d/%d is missing", id.Level, id.Index)
		} else if err != nil {
			return nil, mapErr(err)
		}
	}
	return out, nil
}

// pendingNode returns a node this write batch made and has not stored yet.
func (t *tx) pendingNode(id fairway.MerkleNodeID) []byte {
	if t.w == nil {
		return nil
	}
	for i := len(t.w.nodes) - 1; i >= 0; i-- {
		if n := t.w.nodes[i]; n.Level == id.Level && n.Index == id.Index {
			return append([]byte(nil), n.Hash...)
		}
	}
	return nil
}

// InsertCheckpoint stores a signed checkpoint.
func (t *tx) InsertCheckpoint(c *fairway.Checkpoint) error {
	res, err := t.exec(`INSERT INTO audit_checkpoints (origin, size, root, note, key_name, verifier_key, created_at, created_by) VALUES (?,?,?,?,?,?,?,?)`,
		c.Origin, c.Size, c.Root, c.Note, c.KeyName, c.VerifierKey, nanos(c.CreatedAt), c.CreatedBy)
	if isUniqueViolation(err) {
		return fairway.Errorf(fairway.ECONFLICT, "this checkpoint is stored already")
	} else if err != nil {
		return err
	}
	c.ID, err = res.LastInsertId()
	return err
}

// Checkpoints lists checkpoints, newest first.
func (t *tx) Checkpoints(limit int) ([]*fairway.Checkpoint, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT id, origin, size, root, note, key_name, verifier_key, created_at, created_by FROM audit_checkpoints ORDER BY size DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.Checkpoint
	for rows.Next() {
		var c fairway.Checkpoint
		var at int64
		if err := rows.Scan(&c.ID, &c.Origin, &c.Size, &c.Root, &c.Note, &c.KeyName, &c.VerifierKey, &at, &c.CreatedBy); err != nil {
			return nil, err
		}
		c.CreatedAt = fromNanos(at)
		out = append(out, &c)
	}
	return out, rows.Err()
}
