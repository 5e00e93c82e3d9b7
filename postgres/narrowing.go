package postgres

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
	return t.queryRow(`INSERT INTO narrowings (task, edit, removes, approvals, proposed_by, proposed_at, base, state, applied_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id`,
		n.Task, edit, removes, approvals, n.ProposedBy, nanos(n.ProposedAt), nanos(n.Base), n.State, nanos(n.AppliedAt)).Scan(&n.ID)
}

// UpdateNarrowing stores a narrowing's approvals and state.
func (t *tx) UpdateNarrowing(n *fairway.Narrowing) error {
	_, _, approvals, err := n.Columns()
	if err != nil {
		return err
	}
	tag, err := t.exec(`UPDATE narrowings SET approvals = $1, state = $2, applied_at = $3 WHERE id = $4`, approvals, n.State, nanos(n.AppliedAt), n.ID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fairway.Errorf(fairway.ENOTFOUND, "narrowing %d not found", n.ID)
	}
	return nil
}

// Narrowing returns one narrowing.
func (t *tx) Narrowing(id int64) (*fairway.Narrowing, error) {
	n, err := scanNarrowing(t.queryRow(`SELECT `+narrowingColumns+` FROM narrowings WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "narrowing %d not found", id)
	}
	return n, err
}

// Narrowings lists a task's narrowings, or every task's.
func (t *tx) Narrowings(task string) ([]*fairway.Narrowing, error) {
	return collect(t, scanNarrowing, `SELECT `+narrowingColumns+` FROM narrowings WHERE $1 = '' OR task = $1 ORDER BY id`, task)
}
