package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5"

	"fairway"
)

// insertNodes stores the complete nodes an append finished, in one
// statement.
func (t *tx) insertNodes(nodes []fairway.MerkleNode) error {
	if len(nodes) == 0 {
		return nil
	}
	levels, idxs, hashes := make([]int16, len(nodes)), make([]int64, len(nodes)), make([][]byte, len(nodes))
	for i, n := range nodes {
		levels[i], idxs[i], hashes[i] = int16(n.Level), n.Index, n.Hash
	}
	_, err := t.exec(`INSERT INTO merkle_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`, levels, idxs, hashes)
	return err
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

// MerkleHashes returns the hashes of complete tree nodes in one query.
func (t *tx) MerkleHashes(ids []fairway.MerkleNodeID) ([][]byte, error) {
	if len(ids) == 0 {
		return [][]byte{}, nil
	}
	levels, idxs := make([]int16, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		levels[i], idxs[i] = int16(id.Level), id.Index
	}
	rows, err := t.query(`SELECT q.ord, n.hash FROM unnest($1::smallint[], $2::bigint[]) WITH ORDINALITY AS q(level, idx, ord)
		JOIN merkle_nodes n ON n.level = q.level AND n.idx = q.idx`, levels, idxs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([][]byte, len(ids))
	for rows.Next() {
		var ord int64
		var h []byte
		if err := rows.Scan(&ord, &h); err != nil {
			return nil, t.note(err)
		}
		out[ord-1] = h
	}
	if err := rows.Err(); err != nil {
		return nil, t.note(err)
	}
	for i, h := range out {
		if h == nil {
			return nil, fairway.Errorf(fairway.ENOTFOUND, "audit tree node %d/%d is missing", ids[i].Level, ids[i].Index)
		}
	}
	return out, nil
}

// InsertCheckpoint stores a signed checkpoint; a note stored already is a
// conflict that leaves the transaction usable.
func (t *tx) InsertCheckpoint(c *fairway.Checkpoint) error {
	err := t.queryRow(`INSERT INTO audit_checkpoints (origin, size, root, note, key_name, verifier_key, created_at, created_by)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (note) DO NOTHING RETURNING id`,
		c.Origin, c.Size, c.Root, c.Note, c.KeyName, c.VerifierKey, nanos(c.CreatedAt), c.CreatedBy).Scan(&c.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return fairway.Errorf(fairway.ECONFLICT, "this checkpoint is stored already")
	}
	return err
}

func scanCheckpoint(r rowScanner) (*fairway.Checkpoint, error) {
	var c fairway.Checkpoint
	var at int64
	if err := r.Scan(&c.ID, &c.Origin, &c.Size, &c.Root, &c.Note, &c.KeyName, &c.VerifierKey, &at, &c.CreatedBy); err != nil {
		return nil, err
	}
	c.CreatedAt = fromNanos(at)
	return &c, nil
}

// Checkpoints lists checkpoints, newest first.
func (t *tx) Checkpoints(limit int) ([]*fairway.Checkpoint, error) {
	q := `SELECT id, origin, size, root, note, key_name, verifier_key, created_at, created_by FROM audit_checkpoints ORDER BY size DESC, id DESC`
	if limit > 0 {
		return collect(t, scanCheckpoint, q+` LIMIT $1`, limit)
	}
	return collect(t, scanCheckpoint, q)
}
