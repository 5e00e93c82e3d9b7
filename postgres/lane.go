package postgres

import (
	"fairway"
)

// InsertLane stores a new lane.
func (t *tx) InsertLane(l *fairway.Lane) error {
	var prefix *string
	if l.KeyPrefix != "" {
		prefix = &l.KeyPrefix
	}
	tag, err := t.exec(`INSERT INTO lanes (name, key_prefix, description, created_at, created_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		l.Name, prefix, l.Description, nanos(l.CreatedAt), l.CreatedBy)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fairway.Errorf(fairway.ECONFLICT, "lane %q or key prefix %q already exists", l.Name, l.KeyPrefix)
	}
	return nil
}

func scanLane(r rowScanner) (*fairway.Lane, error) {
	var l fairway.Lane
	var prefix *string
	var created int64
	if err := r.Scan(&l.Name, &prefix, &l.Description, &created, &l.CreatedBy); err != nil {
		return nil, err
	}
	if prefix != nil {
		l.KeyPrefix = *prefix
	}
	l.CreatedAt = fromNanos(created)
	return &l, nil
}

// Lane returns one lane.
func (t *tx) Lane(name string) (*fairway.Lane, error) {
	l, err := scanLane(t.queryRow(`SELECT name, key_prefix, description, created_at, created_by FROM lanes WHERE name = $1`, name))
	if isNoRows(err) {
		return nil, notFound("lane", name)
	}
	return l, err
}

// Lanes lists lanes by name.
func (t *tx) Lanes() ([]*fairway.Lane, error) {
	return collect(t, scanLane, `SELECT name, key_prefix, description, created_at, created_by FROM lanes ORDER BY name`)
}

// NextLaneSeq increments the lane's key counter.
func (t *tx) NextLaneSeq(name string) (int64, error) {
	var n int64
	err := t.queryRow(`UPDATE lanes SET next_seq = next_seq + 1 WHERE name = $1 RETURNING next_seq`, name).Scan(&n)
	if isNoRows(err) {
		return 0, notFound("lane", name)
	}
	return n, err
}
