package sqlite

import (
	"database/sql"

	"fairway"
)

// InsertLane stores a new lane.
func (t *tx) InsertLane(l *fairway.Lane) error {
	var prefix sql.NullString
	if l.KeyPrefix != "" {
		prefix = sql.NullString{String: l.KeyPrefix, Valid: true}
	}
	_, err := t.exec(`INSERT INTO lanes (name, key_prefix, description, created_at, created_by) VALUES (?, ?, ?, ?, ?)`,
		l.Name, prefix, l.Description, nanos(l.CreatedAt), l.CreatedBy)
	if isUniqueViolation(err) {
		return fairway.Errorf(fairway.ECONFLICT, "lane %q or key prefix %q already exists", l.Name, l.KeyPrefix)
	}
	return err
}

func scanLane(r rowScanner) (*fairway.Lane, error) {
	var l fairway.Lane
	var prefix sql.NullString
	var created int64
	if err := r.Scan(&l.Name, &prefix, &l.Description, &created, &l.CreatedBy); err != nil {
		return nil, err
	}
	l.KeyPrefix, l.CreatedAt = prefix.String, fromNanos(created)
	return &l, nil
}

// Lane returns one lane.
func (t *tx) Lane(name string) (*fairway.Lane, error) {
	l, err := scanLane(t.q.QueryRowContext(t.ctx, `SELECT name, key_prefix, description, created_at, created_by FROM lanes WHERE name = ?`, name))
	if isNoRows(err) {
		return nil, notFound("lane", name)
	}
	return l, mapErr(err)
}

// Lanes lists lanes by name.
func (t *tx) Lanes() ([]*fairway.Lane, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT name, key_prefix, description, created_at, created_by FROM lanes ORDER BY name`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.Lane
	for rows.Next() {
		l, err := scanLane(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// NextLaneSeq increments the lane's key counter.
func (t *tx) NextLaneSeq(name string) (int64, error) {
	var n int64
	err := t.q.QueryRowContext(t.ctx, `UPDATE lanes SET next_seq = next_seq + 1 WHERE name = ? RETURNING next_seq`, name).Scan(&n)
	if isNoRows(err) {
		return 0, notFound("lane", name)
	}
	return n, mapErr(err)
}
