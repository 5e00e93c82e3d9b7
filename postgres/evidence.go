package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"

	"fairway"
)

// InsertEvidence stores an evidence record as JSON beside the columns it
// is looked up by.
func (t *tx) InsertEvidence(e *fairway.Evidence, link *fairway.ProofLink) error {
	record, err := json.Marshal(e)
	if err != nil {
		return err
	}
	tag, err := t.exec(`INSERT INTO evidence (id, task, kind, digest, size, recorded_by, recorded_at, supersedes, record)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		e.ID, e.Task, e.Kind, e.Digest, e.Size, e.RecordedBy, nanos(e.RecordedAt), e.Supersedes, string(record))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fairway.Errorf(fairway.ECONFLICT, "evidence %s already exists", e.ID)
	}
	if err := t.index(fairway.EvidenceSearchDoc(e)); err != nil || link == nil {
		return err
	}
	tag, err = t.exec(`UPDATE tasks SET proof_count = $1, proof_chain = $2 WHERE key = $3`, link.Count, link.Chain, e.Task)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound("task", e.Task)
	}
	return nil
}

// ProofChain returns the task's proof count and chain head.
func (t *tx) ProofChain(task string) (int, string, error) {
	var n int
	var chain string
	err := t.queryRow(`SELECT proof_count, proof_chain FROM tasks WHERE key = $1`, task).Scan(&n, &chain)
	if isNoRows(err) {
		return 0, "", notFound("task", task)
	}
	return n, chain, err
}

// LatestProof lists current proof of one kind, newest first.
func (t *tx) LatestProof(task, kind string) ([]*fairway.Evidence, error) {
	return collect(t, scanEvidence, `SELECT record FROM evidence e
		WHERE task = $1 AND kind = $2
		AND NOT EXISTS (SELECT 1 FROM evidence s WHERE s.supersedes = e.id)
		ORDER BY recorded_at DESC, id DESC`, task, kind)
}

// LatestProofs lists the current proof of several kinds of a task, each
// newest first, in one query.
func (t *tx) LatestProofs(task string, kinds []string) ([][]*fairway.Evidence, error) {
	out := make([][]*fairway.Evidence, len(kinds))
	if len(kinds) == 0 {
		return out, nil
	}
	rows, err := t.query(`SELECT kind, record FROM evidence e
		WHERE task = $1 AND kind = ANY($2)
		AND NOT EXISTS (SELECT 1 FROM evidence s WHERE s.supersedes = e.id)
		ORDER BY kind, recorded_at DESC, id DESC`, task, kinds)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byKind := map[string][]*fairway.Evidence{}
	for rows.Next() {
		var kind string
		e, err := scanEvidence(kindFirst{rows, &kind})
		if err != nil {
			return nil, t.note(err)
		}
		byKind[kind] = append(byKind[kind], e)
	}
	if err := t.note(rows.Err()); err != nil {
		return nil, err
	}
	for i, k := range kinds {
		out[i] = byKind[k]
	}
	return out, nil
}

// kindFirst scans a leading kind column, then hands the rest to the
// record's scanner.
type kindFirst struct {
	r    rowScanner
	kind *string
}

func (k kindFirst) Scan(dest ...any) error { return k.r.Scan(append([]any{k.kind}, dest...)...) }

// NewestEvidence returns each kind's newest current record of a task. The
// newest are picked from the index's columns first, and only their
// records read: a task with a thousand records reads a handful.
func (t *tx) NewestEvidence(task string) ([]*fairway.Evidence, error) {
	return collect(t, scanEvidence, `SELECT record FROM evidence WHERE id IN (
		SELECT id FROM (
			SELECT e.id, ROW_NUMBER() OVER (PARTITION BY e.kind ORDER BY e.recorded_at DESC, e.id DESC) AS rn
			FROM evidence e WHERE e.task = $1 AND NOT EXISTS (SELECT 1 FROM evidence s WHERE s.supersedes = e.id)
		) newest WHERE rn = 1
	) ORDER BY kind`, task)
}

// EvidenceRecorders lists who recorded a task's evidence.
func (t *tx) EvidenceRecorders(task string) ([]string, error) {
	return t.queryStrings(`SELECT DISTINCT recorded_by FROM evidence WHERE task = $1 ORDER BY recorded_by`, task)
}

func scanEvidence(r rowScanner) (*fairway.Evidence, error) {
	var record string
	if err := r.Scan(&record); err != nil {
		return nil, err
	}
	var e fairway.Evidence
	if err := json.Unmarshal([]byte(record), &e); err != nil {
		return nil, fmt.Errorf("evidence record: %w", err)
	}
	return &e, nil
}

// Evidence returns one record.
func (t *tx) Evidence(id string) (*fairway.Evidence, error) {
	e, err := scanEvidence(t.queryRow(`SELECT record FROM evidence WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, notFound("evidence", id)
	}
	return e, err
}

// EvidenceList lists records, oldest first.
func (t *tx) EvidenceList(f fairway.EvidenceFilter) ([]*fairway.Evidence, error) {
	q, args := `SELECT record FROM evidence WHERE true`, []any{}
	if f.Task != "" {
		args = append(args, f.Task)
		q += ` AND task = $` + strconv.Itoa(len(args))
	}
	if f.Kind != "" {
		args = append(args, f.Kind)
		q += ` AND kind = $` + strconv.Itoa(len(args))
	}
	return collect(t, scanEvidence, q+` ORDER BY recorded_at, id`, args...)
}

// InsertClaim stores a claim and sets its ID.
func (t *tx) InsertClaim(c *fairway.Claim) error {
	if err := t.queryRow(`INSERT INTO claims (task, text, actor, actor_kind, session, at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		c.Task, c.Text, c.Actor, c.ActorKind, c.Session, nanos(c.At)).Scan(&c.ID); err != nil {
		return err
	}
	return t.index(fairway.ClaimSearchDoc(c))
}

// Claims lists a task's claims in order.
func (t *tx) Claims(task string) ([]*fairway.Claim, error) {
	return collect(t, func(r rowScanner) (*fairway.Claim, error) {
		var c fairway.Claim
		var at int64
		if err := r.Scan(&c.ID, &c.Task, &c.Text, &c.Actor, &c.ActorKind, &c.Session, &at); err != nil {
			return nil, err
		}
		c.At = fromNanos(at)
		return &c, nil
	}, `SELECT id, task, text, actor, actor_kind, session, at FROM claims WHERE task = $1 ORDER BY id`, task)
}
