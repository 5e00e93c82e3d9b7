package sqlite

import "fairway"

const scopeColumns = `id, task, kind, session, base, paths, outside, layers, domains, note, by_actor, at`

// InsertScopeRecord stores a scope record and sets its ID.
func (t *tx) InsertScopeRecord(r *fairway.ScopeRecord) error {
	paths, outside, layers, domains, err := r.Columns()
	if err != nil {
		return err
	}
	res, err := t.exec(`INSERT INTO scope_records (task, kind, session, base, paths, outside, layers, domains, note, by_actor, at) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		r.Task, r.Kind, r.Session, r.Base, paths, outside, layers, domains, r.Note, r.By, nanos(r.At))
	if err != nil {
		return err
	}
	r.ID, err = res.LastInsertId()
	return err
}

// ScopeRecords lists a task's scope records, oldest first.
func (t *tx) ScopeRecords(task string) ([]*fairway.ScopeRecord, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+scopeColumns+` FROM scope_records WHERE task = ? ORDER BY id`, task)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.ScopeRecord
	for rows.Next() {
		var r fairway.ScopeRecord
		var paths, outside, layers, domains string
		var at int64
		if err := rows.Scan(&r.ID, &r.Task, &r.Kind, &r.Session, &r.Base, &paths, &outside, &layers, &domains, &r.Note, &r.By, &at); err != nil {
			return nil, err
		}
		if err := r.DecodeColumns(paths, outside, layers, domains); err != nil {
			return nil, err
		}
		r.At = fromNanos(at)
		out = append(out, &r)
	}
	return out, rows.Err()
}
