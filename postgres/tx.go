package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"fairway"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// querier is what a pgx transaction offers.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// tx implements fairway.Tx over one PostgreSQL transaction.
type tx struct {
	ctx context.Context
	q   querier
	w   *batchState // set on write transactions
}

// note remembers a serialization failure, which dooms the whole write
// transaction, and maps the error for the caller.
func (t *tx) note(err error) error {
	if err != nil && t.w != nil && t.w.retry == nil && isRetryable(err) {
		t.w.retry = err
	}
	return mapErr(err)
}

func (t *tx) exec(query string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.q.Exec(t.ctx, query, args...)
	return tag, t.note(err)
}

func (t *tx) query(query string, args ...any) (pgx.Rows, error) {
	rows, err := t.q.Query(t.ctx, query, args...)
	return rows, t.note(err)
}

// row is a single-row result whose errors pass through note.
type row struct {
	t *tx
	r pgx.Row
}

func (r row) Scan(dest ...any) error { return r.t.note(r.r.Scan(dest...)) }

func (t *tx) queryRow(query string, args ...any) rowScanner {
	return row{t: t, r: t.q.QueryRow(t.ctx, query, args...)}
}

type rowScanner interface{ Scan(dest ...any) error }

// collect scans every row of a query with scan.
func collect[T any](t *tx, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, t.note(err)
		}
		out = append(out, v)
	}
	return out, t.note(rows.Err())
}

func scanString(r rowScanner) (string, error) {
	var s string
	err := r.Scan(&s)
	return s, err
}

func (t *tx) queryStrings(query string, args ...any) ([]string, error) {
	return collect(t, scanString, query, args...)
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

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
