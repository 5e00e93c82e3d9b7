package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"fairway"
)

// InsertEvidence stores an evidence record as JSON beside the columns it
// is looked up by, and moves the task's proof chain to link when given.
func (t *tx) InsertEvidence(e *fairway.Evidence, link *fairway.ProofLink) error {
	record, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO evidence (id, task, kind, digest, size, recorded_by, recorded_at, supersedes, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.Task, e.Kind, e.Digest, e.Size, e.RecordedBy, nanos(e.RecordedAt), e.Supersedes, string(record))
	if isUniqueViolation(err) {
		return fairway.Errorf(fairway.ECONFLICT, "evidence %s already exists", e.ID)
	}
	if err != nil {
		return err
	}
	if err := t.index(fairway.EvidenceSearchDoc(e)); err != nil || link == nil {
		return err
	}
	res, err := t.exec(`UPDATE tasks SET proof_count = ?, proof_chain = ? WHERE key = ?`, link.Count, link.Chain, e.Task)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return notFound("task", e.Task)
	}
	return nil
}

// ProofChain returns the task's proof count and chain head.
func (t *tx) ProofChain(task string) (int, string, error) {
	var n int
	var chain string
	err := t.q.QueryRowContext(t.ctx, `SELECT proof_count, proof_chain FROM tasks WHERE key = ?`, task).Scan(&n, &chain)
	if isNoRows(err) {
		return 0, "", notFound("task", task)
	}
	return n, chain, mapErr(err)
}

// LatestProof lists current evidence of one kind, newest first.
func (t *tx) LatestProof(task, kind string) ([]*fairway.Evidence, error) {
	return t.records(`SELECT record FROM evidence e
		WHERE task = ? AND kind = ?
		AND NOT EXISTS (SELECT 1 FROM evidence s WHERE s.supersedes = e.id)
		ORDER BY recorded_at DESC, id DESC`, task, kind)
}

// LatestProofs lists the current proof of several kinds of a task, each
// newest first, in one statement: a gate asks for a dozen kinds at once.
func (t *tx) LatestProofs(task string, kinds []string) ([][]*fairway.Evidence, error) {
	out := make([][]*fairway.Evidence, len(kinds))
	if len(kinds) == 0 {
		return out, nil
	}
	list, err := json.Marshal(kinds)
	if err != nil {
		return nil, err
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT kind, record FROM evidence e
		WHERE task = ? AND kind IN (SELECT value FROM json_each(?))
		AND NOT EXISTS (SELECT 1 FROM evidence s WHERE s.supersedes = e.id)
		ORDER BY kind, recorded_at DESC, id DESC`, task, string(list))
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	byKind := map[string][]*fairway.Evidence{}
	for rows.Next() {
		var kind, record string
		if err := rows.Scan(&kind, &record); err != nil {
			return nil, err
		}
		e, err := decodeEvidence(record)
		if err != nil {
			return nil, err
		}
		byKind[kind] = append(byKind[kind], e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, k := range kinds {
		out[i] = byKind[k]
	}
	return out, nil
}

// NewestEvidence returns each kind's newest current record of a task.
// The task's kinds come from the evidence_kind index alone, and each
// kind's newest record not superseded is found walking that index from
// its newest end, so a task with a thousand records reads a handful: a
// window over all of them (ROW_NUMBER per kind) sorted every record on
// every gate evaluation. A kind whose every record is superseded gives
// NULL, and no record.
func (t *tx) NewestEvidence(task string) ([]*fairway.Evidence, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT (SELECT e.record FROM evidence e WHERE e.task = k.task AND e.kind = k.kind
			AND NOT EXISTS (SELECT 1 FROM evidence s WHERE s.supersedes = e.id)
			ORDER BY e.recorded_at DESC, e.id DESC LIMIT 1)
		FROM (SELECT DISTINCT task, kind FROM evidence WHERE task = ?) k ORDER BY k.kind`, task)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.Evidence
	for rows.Next() {
		var record sql.NullString
		if err := rows.Scan(&record); err != nil {
			return nil, err
		}
		if !record.Valid {
			continue
		}
		e, err := decodeEvidence(record.String)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EvidenceRecorders lists who recorded a task's evidence.
func (t *tx) EvidenceRecorders(task string) ([]string, error) {
	return t.queryStrings(`SELECT DISTINCT recorded_by FROM evidence WHERE task = ? ORDER BY recorded_by`, task)
}

func decodeEvidence(record string) (*fairway.Evidence, error) {
	var e fairway.Evidence
	if err := json.Unmarshal([]byte(record), &e); err != nil {
		return nil, fmt.Errorf("evidence record: %w", err)
	}
	return &e, nil
}

// Evidence returns one record.
func (t *tx) Evidence(id string) (*fairway.Evidence, error) {
	var record string
	err := t.q.QueryRowContext(t.ctx, `SELECT record FROM evidence WHERE id = ?`, id).Scan(&record)
	if isNoRows(err) {
		return nil, notFound("evidence", id)
	} else if err != nil {
		return nil, mapErr(err)
	}
	return decodeEvidence(record)
}

// EvidenceList lists records, oldest first.
func (t *tx) EvidenceList(f fairway.EvidenceFilter) ([]*fairway.Evidence, error) {
	q, args := `SELECT record FROM evidence WHERE 1=1`, []any{}
	if f.Task != "" {
		q, args = q+` AND task = ?`, append(args, f.Task)
	}
	if f.Kind != "" {
		q, args = q+` AND kind = ?`, append(args, f.Kind)
	}
	return t.records(q+` ORDER BY recorded_at, id`, args...)
}

// records decodes the evidence records a query selects.
func (t *tx) records(query string, args ...any) ([]*fairway.Evidence, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.Evidence
	for rows.Next() {
		var record string
		if err := rows.Scan(&record); err != nil {
			return nil, err
		}
		e, err := decodeEvidence(record)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// InsertClaim stores a claim and sets its ID.
func (t *tx) InsertClaim(c *fairway.Claim) error {
	res, err := t.exec(`INSERT INTO claims (task, text, actor, actor_kind, session, at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.Task, c.Text, c.Actor, c.ActorKind, c.Session, nanos(c.At))
	if err != nil {
		return err
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	return t.index(fairway.ClaimSearchDoc(c))
}

// Claims lists a task's claims in order.
func (t *tx) Claims(task string) ([]*fairway.Claim, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT id, task, text, actor, actor_kind, session, at FROM claims WHERE task = ? ORDER BY id`, task)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.Claim
	for rows.Next() {
		var c fairway.Claim
		var at int64
		if err := rows.Scan(&c.ID, &c.Task, &c.Text, &c.Actor, &c.ActorKind, &c.Session, &at); err != nil {
			return nil, err
		}
		c.At = fromNanos(at)
		out = append(out, &c)
	}
	return out, rows.Err()
}
