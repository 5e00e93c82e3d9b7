package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"fairway"
)

// querier is what both *sql.Conn (writes) and *sql.Tx (reads) offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx implements fairway.Tx over one SQLite transaction.
type tx struct {
	ctx context.Context
	q   querier
	w   *writer // set on write transactions
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	res, err := t.q.ExecContext(t.ctx, query, args...)
	return res, mapErr(err)
}

func (t *tx) queryStrings(query string, args ...any) ([]string, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// encodeList stores a string list as JSON, and an empty one as "".
func encodeList(l []string) string {
	if len(l) == 0 {
		return ""
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func decodeList(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var l []string
	err := json.Unmarshal([]byte(s), &l)
	return l, err
}

func notFound(what, key string) error {
	return fairway.Errorf(fairway.ENOTFOUND, "%s %q not found", what, key)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
