package sqlite

import (
	"context"
	"encoding/json"

	"fairway"
)

// AuditHead returns the recorded head of the log and of its tree.
// Within a write batch the head is kept in memory and stored once before
// the commit: the write lock is held throughout, so no other process can
// move it meanwhile.
func (t *tx) AuditHead() (fairway.AuditHead, error) {
	if t.w != nil && t.w.head != nil {
		return *t.w.head, nil
	}
	var h fairway.AuditHead
	var rng []byte
	err := t.q.QueryRowContext(t.ctx, `SELECT seq, hash, tree_size, tree_range, tree_from FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash, &h.TreeSize, &rng, &h.TreeFrom)
	if err != nil {
		return h, mapErr(err)
	}
	if h.Range, err = fairway.DecodeTreeRange(rng); err != nil {
		return h, err
	}
	if t.w != nil {
		t.w.head = &h
	}
	return h, nil
}

// AuditHeadKey reads the audit head's sequence and hash in one
// statement, its own read transaction (fairway.HeadKeyReader).
func (s *Store) AuditHeadKey(ctx context.Context) (int64, string, error) {
	const query = `SELECT seq, hash FROM audit_head WHERE id = 1`
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return 0, "", mapErr(err)
	}
	var seq int64
	var hash string
	err = st.QueryRowContext(ctx).Scan(&seq, &hash)
	return seq, hash, mapErr(err)
}

// AppendAudit stores a sealed event and its tree nodes, and moves the
// head to it. A nil tree leaves the tree behind the log, for the ledger
// to catch up.
func (t *tx) AppendAudit(e *fairway.AuditEvent, tree *fairway.MerkleAppend) error {
	head, err := t.AuditHead()
	if err != nil {
		return err
	}
	if _, err := t.exec(`INSERT INTO audit_events (seq, at, actor, actor_kind, action, subject, change, prev, hash) VALUES (?,?,?,?,?,?,?,?,?)`,
		e.Seq, nanos(e.At), e.Actor, e.ActorKind, e.Action, e.Subject, string(e.Change), e.Prev, e.Hash); err != nil {
		return err
	}
	head.Seq, head.Hash = e.Seq, e.Hash
	if tree != nil {
		if err := t.insertNodes(tree.Nodes); err != nil {
			return err
		}
		head.TreeSize, head.Range = e.Seq, tree.Range
	}
	return t.setHead(head)
}

// setHead moves the head: in memory in a write batch, else at once.
func (t *tx) setHead(h fairway.AuditHead) error {
	if t.w != nil {
		t.w.head, t.w.headDirty = &h, true
		return nil
	}
	_, err := t.exec(`UPDATE audit_head SET seq = ?, hash = ?, tree_size = ?, tree_range = ? WHERE id = 1`, h.Seq, h.Hash, h.TreeSize, fairway.EncodeTreeRange(h.Range))
	return err
}

// storeHead writes the batch's audit head, if it moved.
func (w *writer) storeHead(ctx context.Context) error {
	if !w.headDirty {
		return nil
	}
	_, err := w.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ?, tree_size = ?, tree_range = ? WHERE id = 1`, w.head.Seq, w.head.Hash, w.head.TreeSize, fairway.EncodeTreeRange(w.head.Range))
	return err
}

const auditColumns = `seq, at, actor, actor_kind, action, subject, change, prev, hash`

func scanAudit(r rowScanner) (*fairway.AuditEvent, error) {
	var e fairway.AuditEvent
	var at int64
	var change string
	if err := r.Scan(&e.Seq, &at, &e.Actor, &e.ActorKind, &e.Action, &e.Subject, &change, &e.Prev, &e.Hash); err != nil {
		return nil, err
	}
	e.At, e.Change = fromNanos(at), json.RawMessage(change)
	return &e, nil
}

// AuditEvents pages through the log.
func (t *tx) AuditEvents(f fairway.AuditFilter) ([]*fairway.AuditEvent, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q, args := `SELECT `+auditColumns+` FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`, []any{f.AfterSeq, limit}
	if f.Subject != "" {
		q, args = `SELECT `+auditColumns+` FROM audit_events WHERE subject = ? AND seq > ? ORDER BY seq LIMIT ?`, []any{f.Subject, f.AfterSeq, limit}
	}
	rows, err := t.q.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.AuditEvent
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EachAuditEvent streams the whole log.
func (t *tx) EachAuditEvent(fn func(*fairway.AuditEvent) error) error {
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+auditColumns+` FROM audit_events ORDER BY seq`)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}
