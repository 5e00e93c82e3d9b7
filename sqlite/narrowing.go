package sqlite

import "fairway"

const narrowingColumns = `id, task, edit, removes, approvals, proposed_by, proposed_at, base, state, applied_at`

func scanNarrowing(r rowScanner) (*fairway.Narrowing, error) {
	var n fairway.Narrowing
	var edit, removes, approvals string
	var proposed, base, applied int64
	if err := r.Scan(&n.ID, &n.Task, &edit, &removes, &approvals, &n.ProposedBy, &proposed, &base, &n.State, &applied); err != nil {
		return nil, err
	}
	if err := fairway.DecodeJSONColumns(edit, &n.Update, removes, &n.Removes, approvals, &n.Approvals); err != nil {
		return nil, err
	}
	n.ProposedAt, n.Base, n.AppliedAt = fromNanos(proposed), fromNanos(base), fromNanos(applied)
	return &n, nil
}

// InsertNarrowing stores a proposed narrowing and sets its ID.
func (t *tx) InsertNarrowing(n *fairway.Narrowing) error {
	edit, removes, approvals, err := n.Columns()
	if err != nil {
		return err
	}
	res, err := t.exec(`INSERT INTO narrowings (task, edit, removes, approvals, proposed_by, proposed_at, base, state, applied_at) VALUES (?,?,?,?,?,?,?,?,?)`,
		n.Task, edit, removes, approvals, n.ProposedBy, nanos(n.ProposedAt), nanos(n.Base), n.State, nanos(n.AppliedAt))
	if err != nil {
		return err
	}
	n.ID, err = res.LastInsertId()
	return err
}

// UpdateNarrowing stores a narrowing's approvals and state.
func (t *tx) UpdateNarrowing(n *fairway.Narrowing) error {
	_, _, approvals, err := n.Columns()
	if err != nil {
		return err
	}
	res, err := t.exec(`UPDATE narrowings SET approvals = ?, state = ?, applied_at = ? WHERE id = ?`, approvals, n.State, nanos(n.AppliedAt), n.ID)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return fairway.Errorf(fairway.ENOTFOUND, "narrowing %d not found", n.ID)
	}
	return nil
}

// Narrowing returns one narrowing.
func (t *tx) Narrowing(id int64) (*fairway.Narrowing, error) {
	n, err := scanNarrowing(t.q.QueryRowContext(t.ctx, `SELECT `+narrowingColumns+` FROM narrowings WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "narrowing %d not found", id)
	}
	return n, mapErr(err)
}

// Narrowings lists a task's narrowings, or every task's.
func (t *tx) Narrowings(task string) ([]*fairway.Narrowing, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+narrowingColumns+` FROM narrowings WHERE ? = '' OR task = ? ORDER BY id`, task, task)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.Narrowing
	for rows.Next() {
		n, err := scanNarrowing(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
