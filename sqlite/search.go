package sqlite

import (
	"encoding/json"
	"strings"

	"fairway"
)

// index stores a record's search text, replacing what it had; empty text
// removes the record from search. Triggers keep the FTS5 index in step.
func (t *tx) index(d fairway.SearchDoc) error {
	if t.w != nil {
		// In a write batch the index is brought up to date once, just
		// before the commit, rather than write by write inside each
		// write's savepoint.
		t.w.docs = append(t.w.docs, d)
		return nil
	}
	return t.indexNow(d)
}

// indexNow writes one record's search text, and its FTS5 index through
// the table's triggers.
func (t *tx) indexNow(d fairway.SearchDoc) error {
	return t.indexDocs([]fairway.SearchDoc{d})
}

// indexDocs writes the search texts of many records in at most two
// statements, the later text of a record winning. FTS5 writes its
// pending index changes out at the start of every statement that touches
// it (a statement savepoint), so a statement per record would write a
// segment per record and merge them again: one statement for all of a
// commit's records writes one.
func (t *tx) indexDocs(docs []fairway.SearchDoc) error {
	if len(docs) == 0 {
		return nil
	}
	last := make(map[[2]string]int, len(docs))
	for i, d := range docs {
		last[[2]string{d.Kind, d.ID}] = i
	}
	var gone [][]string
	var set []fairway.SearchDoc
	for i, d := range docs {
		if last[[2]string{d.Kind, d.ID}] != i {
			continue
		}
		if d.Text == "" {
			gone = append(gone, []string{d.Kind, d.ID})
		} else {
			set = append(set, d)
		}
	}
	if len(gone) > 0 {
		b, err := json.Marshal(gone)
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM search_docs WHERE rowid IN (SELECT d.rowid FROM json_each(?) j
			JOIN search_docs d ON d.kind = j.value->>0 AND d.id = j.value->>1)`, string(b)); err != nil {
			return err
		}
	}
	// Bound values, not one JSON argument: parsing it back in SQL cost
	// more than the insert. Each statement is one FTS5 flush.
	for len(set) > 0 {
		n := min(len(set), docsPerStatement)
		q := `INSERT INTO search_docs (kind, id, task, body) VALUES (?,?,?,?)` + strings.Repeat(`,(?,?,?,?)`, n-1) + `
			ON CONFLICT (kind, id) DO UPDATE SET task = excluded.task, body = excluded.body
			WHERE body <> excluded.body OR task <> excluded.task`
		args := make([]any, 0, 4*n)
		for _, d := range set[:n] {
			args = append(args, d.Kind, d.ID, d.Task, d.Text)
		}
		if _, err := t.exec(q, args...); err != nil {
			return err
		}
		set = set[n:]
	}
	return nil
}

// docsPerStatement bounds a statement's rows: the writer keeps each
// size's statement prepared, so sizes past a large batch's are not kept
// in their hundreds.
const docsPerStatement = 64

// Search matches every word of the query as a quoted FTS5 string, so no
// query text is read as FTS5 syntax, and ranks by BM25.
func (t *tx) Search(q fairway.SearchQuery) ([]*fairway.SearchHit, error) {
	terms := fairway.SearchTerms(q.Text)
	for i, term := range terms {
		terms[i] = `"` + strings.ReplaceAll(term, `"`, `""`) + `"`
	}
	query := `SELECT d.kind, d.id, d.task, t.lane, d.body, -bm25(search_fts) AS score
		FROM search_fts JOIN search_docs d ON d.rowid = search_fts.rowid JOIN tasks t ON t.key = d.task
		WHERE search_fts MATCH ?`
	args := []any{strings.Join(terms, " ")}
	if q.Kind != "" {
		query, args = query+` AND d.kind = ?`, append(args, q.Kind)
	}
	if q.Lane != "" {
		query, args = query+` AND t.lane = ?`, append(args, q.Lane)
	}
	rows, err := t.q.QueryContext(t.ctx, query+` ORDER BY score DESC, d.kind, d.id LIMIT ?`, append(args, q.Limit)...)
	if err != nil {
		return nil, mapErr(err)
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
	return out, rows.Err()
}
