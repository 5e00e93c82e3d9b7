// Package forge is, for tests, the attacker who holds a SQLite ledger's
// file and no signing key: it rewrites audit events behind the store and
// recomputes every hash a forger who knows the algorithms can, so that a
// test shows which check still catches the rewrite.
package forge

import (
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"fairway"
	"fairway/tlog"
)

// Rewrite says what the forger does to the log.
type Rewrite struct {
	// Seq is the event edited, or with Cut the first event deleted.
	Seq int64
	// Edit changes event Seq; nil leaves it as it is.
	Edit func(*fairway.AuditEvent)
	// Cut deletes the events from Seq on.
	Cut bool
	// Tree recomputes the whole Merkle tree and the head's range too;
	// without it the stored tree is left as it was.
	Tree bool
	// EmptyTree deletes every tree node and zeroes the head's tree size
	// and range, so the log looks as if it predated the tree and its
	// check were skipped.
	EmptyTree bool
}

// Apply rewrites the ledger file at path: it deletes or edits as r says,
// then recomputes every event's chain hash and the head's, and with
// r.Tree the tree.
func Apply(t testing.TB, path string, r Rewrite) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if r.Cut {
		exec(`DELETE FROM audit_events WHERE seq >= ?`, r.Seq)
	}
	rows, err := db.Query(`SELECT seq, at, actor, actor_kind, action, subject, change FROM audit_events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var events []*fairway.AuditEvent
	for rows.Next() {
		var e fairway.AuditEvent
		var at int64
		var change string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.ActorKind, &e.Action, &e.Subject, &change); err != nil {
			t.Fatal(err)
		}
		e.At, e.Change = time.Unix(0, at).UTC(), []byte(change)
		events = append(events, &e)
	}
	rows.Close()
	if r.Tree || r.EmptyTree {
		exec(`DROP TRIGGER IF EXISTS merkle_nodes_no_update`)
		exec(`DROP TRIGGER IF EXISTS merkle_nodes_no_delete`)
		exec(`DELETE FROM merkle_nodes`)
	}
	head := fairway.AuditHead{}
	for _, e := range events {
		if e.Seq == r.Seq && r.Edit != nil {
			r.Edit(e)
		}
		e.Seal(head)
		head.Seq, head.Hash = e.Seq, e.Hash
		if r.Tree {
			tree, err := tlog.Append(head.TreeSize, head.Range, tlog.LeafHash(e))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tree.Nodes {
				exec(`INSERT INTO merkle_nodes (level, idx, hash) VALUES (?,?,?)`, n.Level, n.Index, n.Hash)
			}
			head.TreeSize, head.Range = e.Seq, tree.Range
		}
		exec(`UPDATE audit_events SET at = ?, subject = ?, change = ?, prev = ?, hash = ? WHERE seq = ?`, e.At.UnixNano(), e.Subject, string(e.Change), e.Prev, e.Hash, e.Seq)
	}
	if r.Tree || r.EmptyTree {
		exec(`UPDATE audit_head SET seq = ?, hash = ?, tree_size = ?, tree_range = ? WHERE id = 1`, head.Seq, head.Hash, head.TreeSize, fairway.EncodeTreeRange(head.Range))
	} else {
		exec(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, head.Seq, head.Hash)
	}
}

// AddToChange is an Edit that adds a field no row reads to an event's
// change, so the tables still agree with the log: only the chain, the
// tree or a checkpoint held elsewhere can tell.
func AddToChange(e *fairway.AuditEvent) {
	var m map[string]any
	if err := json.Unmarshal(e.Change, &m); err != nil || m == nil {
		m = map[string]any{}
	}
	m["rewritten"] = "nothing to see"
	e.Change, _ = json.Marshal(m)
}
