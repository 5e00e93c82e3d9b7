package postgres

import "fairway"

const scopeColumns = `id, task, kind, session, base, paths, outside, layers, domains, note, by_actor, at`

// InsertScopeRecord stores a scope record and sets its ID.
func (t *tx) InsertScopeRecord(r *fairway.ScopeRecord) error {
	paths, outside, layers, domains, err := r.Columns()
	if err != nil {
		return err
	}
	return t.queryRow(`INSERT INTO scope_records (task, kind, session, base, paths, outside, layers, domains, note, by_actor, at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id`,
		r.Task, r.Kind, r.Session, r.Base, paths, outside, layers, domains, r.Note, r.By, nanos(r.At)).Scan(&r.ID)
}

func scanScope(r rowScanner) (*fairway.ScopeRecord, error) {
	var rec fairway.ScopeRecord
	var paths, outside, layers, domains string
	var at int64
	if err := r.Scan(&rec.ID, &rec.Task, &rec.Kind, &rec.Session, &rec.Base, &paths, &outside, &layers, &domains, &rec.Note, &rec.By, &at); err != nil {
		return nil, err
	}
	if err := rec.DecodeColumns(paths, outside, layers, domains); err != nil {
		return nil, err
	}
	rec.At = fromNanos(at)
	return &rec, nil
}

// ScopeRecords lists a task's scope records, oldest first.
func (t *tx) ScopeRecords(task string) ([]*fairway.ScopeRecord, error) {
	return collect(t, scanScope, `SELECT `+scopeColumns+` FROM scope_records WHERE task = $1 ORDER BY id`, task)
}
