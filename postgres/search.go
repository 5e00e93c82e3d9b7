package postgres

import (
	"fmt"
	"strings"

	"fairway"
)

// index stores a record's search text, replacing what it had; empty text
// removes the record from search. The tsvector is generated from it.
func (t *tx) index(d fairway.SearchDoc) error {
	if d.Text == "" {
		_, err := t.exec(`DELETE FROM search_docs WHERE kind = $1 AND id = $2`, d.Kind, d.ID)
		return err
	}
	_, err := t.exec(`INSERT INTO search_docs (kind, id, task, body) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, id) DO UPDATE SET task = excluded.task, body = excluded.body
		WHERE search_docs.body <> excluded.body OR search_docs.task <> excluded.task`, d.Kind, d.ID, d.Task, d.Text)
	return err
}

// Search matches every word of the query through plainto_tsquery, which
// reads no operators, and ranks by ts_rank.
func (t *tx) Search(q fairway.SearchQuery) ([]*fairway.SearchHit, error) {
	query := `SELECT d.kind, d.id, d.task, tk.lane, d.body, ts_rank(d.tsv, q)::float8 AS score
		FROM search_docs d JOIN tasks tk ON tk.key = d.task, plainto_tsquery('simple'::regconfig, $1) q
		WHERE d.tsv @@ q`
	args := []any{strings.Join(fairway.SearchTerms(q.Text), " ")}
	if q.Kind != "" {
		args = append(args, q.Kind)
		query += fmt.Sprintf(` AND d.kind = $%d`, len(args))
	}
	if q.Lane != "" {
		args = append(args, q.Lane)
		query += fmt.Sprintf(` AND tk.lane = $%d`, len(args))
	}
	args = append(args, q.Limit)
	rows, err := t.query(query+fmt.Sprintf(` ORDER BY score DESC, d.kind, d.id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*fairway.SearchHit{}
	for rows.Next() {
		var h fairway.SearchHit
		if err := rows.Scan(&h.Kind, &h.ID, &h.Task, &h.Lane, &h.Text, &h.Score); err != nil {
			return nil, err
		}
		out = append(out, &h)
	}
	return out, t.note(rows.Err())
}
