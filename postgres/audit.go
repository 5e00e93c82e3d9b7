package postgres

import (
	"context"
	"encoding/json"

	"fairway"
)

// AuditHead returns the recorded head of the log and of its tree. In a
// write batch the head row is locked on first read and then kept in
// memory, stored once before the commit: no other writer can move it
// meanwhile.
func (t *tx) AuditHead() (fairway.AuditHead, error) {
	if t.w != nil && t.w.head != nil {
		return *t.w.head, nil
	}
	q := `SELECT seq, hash, tree_size, tree_range, tree_from FROM audit_head WHERE id = 1`
	if t.w != nil {
		q += ` FOR UPDATE`
	}
	var h fairway.AuditHead
	var rng []byte
	if err := t.queryRow(q).Scan(&h.Seq, &h.Hash, &h.TreeSize, &rng, &h.TreeFrom); err != nil {
		return h, err
	}
	var err error
	if h.Range, err = fairway.DecodeTreeRange(rng); err != nil {
		return h, err
	}
	if t.w != nil {
		t.w.head = &h
	}
	return h, nil
}

// AuditHeadKey reads the audit head's sequence and hash in one
// statement, its own snapshot (fairway.HeadKeyReader).
func (s *Store) AuditHeadKey(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
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
	if _, err := t.exec(`INSERT INTO audit_events (seq, at, actor, actor_kind, action, subject, change, prev, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
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
	if _, err := t.exec(`UPDATE audit_head SET seq = $1, hash = $2, tree_size = $3, tree_range = $4 WHERE id = 1`, h.Seq, h.Hash, h.TreeSize, fairway.EncodeTreeRange(h.Range)); err != nil {
		return err
	}
	return t.notifyAudit()
}

// notifyAudit tells listeners on every replica, at commit, that the audit
// log grew (PostgreSQL delivers a NOTIFY only if its transaction commits).
func (t *tx) notifyAudit() error {
	_, err := t.exec(`SELECT pg_notify('` + auditChannel + `', current_schema())`)
	return err
}

// storeHead writes the batch's audit head, if it moved.
func (t *tx) storeHead() error {
	if t.w == nil || !t.w.headDirty {
		return nil
	}
	h := t.w.head
	if _, err := t.exec(`UPDATE audit_head SET seq = $1, hash = $2, tree_size = $3, tree_range = $4 WHERE id = 1`, h.Seq, h.Hash, h.TreeSize, fairway.EncodeTreeRange(h.Range)); err != nil {
		return err
	}
	return t.notifyAudit()
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
	if f.Subject != "" {
		return collect(t, scanAudit, `SELECT `+auditColumns+` FROM audit_events WHERE subject = $1 AND seq > $2 ORDER BY seq LIMIT $3`, f.Subject, f.AfterSeq, limit)
	}
	return collect(t, scanAudit, `SELECT `+auditColumns+` FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`, f.AfterSeq, limit)
}

// EachAuditEvent streams the whole log.
func (t *tx) EachAuditEvent(fn func(*fairway.AuditEvent) error) error {
	rows, err := t.query(`SELECT ` + auditColumns + ` FROM audit_events ORDER BY seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return t.note(err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return t.note(rows.Err())
}
