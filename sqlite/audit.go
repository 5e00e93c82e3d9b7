package sqlite

import (
	"context"
	"encoding/json"

	"fairway"
)

// AuditHead returns the recorded head of the log.
// Within a write batch the head is kept in memory and stored once before
// the commit: the write lock is held throughout, so no other process can
// move it meanwhile.
func (t *tx) AuditHead() (fairway.AuditHead, error) {
	if t.w != nil && t.w.head != nil {
		return *t.w.head, nil
	}
	var h fairway.AuditHead
	err := t.q.QueryRowContext(t.ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash)
	if err == nil && t.w != nil {
		t.w.head = &h
	}
	return h, mapErr(err)
}

// AppendAudit stores a sealed event and moves the head to it.
func (t *tx) AppendAudit(e *fairway.AuditEvent) error {
	if _, err := t.exec(`INSERT INTO audit_events (seq, at, actor, actor_kind, action, subject, change, prev, hash) VALUES (?,?,?,?,?,?,?,?,?)`,
		e.Seq, nanos(e.At), e.Actor, e.ActorKind, e.Action, e.Subject, string(e.Change), e.Prev, e.Hash); err != nil {
		return err
	}
	if t.w != nil {
		t.w.head, t.w.headDirty = &fairway.AuditHead{Seq: e.Seq, Hash: e.Hash}, true
		return nil
	}
	_, err := t.exec(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, e.Seq, e.Hash)
	return err
}

// storeHead writes the batch's audit head, if it moved.
func (w *writer) storeHead(ctx context.Context) error {
	if !w.headDirty {
		return nil
	}
	_, err := w.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, w.head.Seq, w.head.Hash)
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
