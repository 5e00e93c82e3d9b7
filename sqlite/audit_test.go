package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/internal/forge"
	"fairway/ledger"
	"fairway/sqlite"
)

// seedLog writes eight audit events through the ledger and returns the
// database path, closed.
func seedLog(t *testing.T) string { return seedTasks(t, 7) }

// seedTasks writes an actor and n tasks through the ledger (n+1 audit
// events) and returns the database path, closed.
func seedTasks(t *testing.T, n int) string {
	path := filepath.Join(t.TempDir(), "fairway.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(s, nil)
	ctx := context.Background()
	if _, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: "human"}); err != nil {
		t.Fatal(err)
	}
	as := fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice"})
	for i := 1; i <= n; i++ {
		if _, err := l.CreateTask(as, fairway.TaskCreate{Key: fmt.Sprintf("T-%d", i), Title: "task"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func rawExec(t *testing.T, path string, stmts ...string) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func verify(t *testing.T, path string) *fairway.AuditVerification {
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := ledger.New(s, nil).VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAuditVerify_DetectsTampering(t *testing.T) {
	forged := func(seq int64, prevFrom string) string {
		// A forger who knows the algorithm: a self-consistent event whose
		// prev is taken from the row before it.
		e := &fairway.AuditEvent{Seq: seq, Actor: "mallory", ActorKind: "human", Action: "task.close", Subject: "T-1", Change: []byte(`{}`)}
		e.Prev = prevFrom
		e.Hash = e.ComputeHash()
		return fmt.Sprintf(`INSERT INTO audit_events (seq, at, actor, actor_kind, action, subject, change, prev, hash)
			VALUES (%d, 0, 'mallory', 'human', 'task.close', 'T-1', '{}', '%s', '%s')`, seq, e.Prev, e.Hash)
	}
	cases := []struct {
		name     string
		tamper   func(t *testing.T, path string)
		firstBad int64
		problem  string
	}{
		{"edited", func(t *testing.T, p string) {
			rawExec(t, p, `UPDATE audit_events SET subject = 'T-99' WHERE seq = 4`)
		}, 4, "event 4 does not match its hash (edited)"},
		{"edited actor kind", func(t *testing.T, p string) {
			rawExec(t, p, `UPDATE audit_events SET actor_kind = 'agent' WHERE seq = 2`)
		}, 2, "event 2 does not match its hash (edited)"},
		{"deleted", func(t *testing.T, p string) {
			rawExec(t, p, `DELETE FROM audit_events WHERE seq = 5`)
		}, 5, "event 5 is missing: the log jumps from 4 to 6 (deleted)"},
		{"inserted naively", func(t *testing.T, p string) {
			rawExec(t, p, `UPDATE audit_events SET seq = seq + 100 WHERE seq >= 3`, `UPDATE audit_events SET seq = seq - 99 WHERE seq >= 100`,
				`INSERT INTO audit_events (seq, at, actor, actor_kind, action, subject, change, prev, hash) VALUES (3, 0, 'mallory', 'human', 'task.close', 'T-1', '{}', 'x', 'y')`)
		}, 3, "event 3 does not match its hash (edited)"},
		{"inserted with a recomputed hash", func(t *testing.T, p string) {
			var prev string
			db, _ := sql.Open("sqlite", p)
			db.QueryRow(`SELECT hash FROM audit_events WHERE seq = 2`).Scan(&prev)
			db.Close()
			rawExec(t, p, `UPDATE audit_events SET seq = seq + 100 WHERE seq >= 3`, `UPDATE audit_events SET seq = seq - 99 WHERE seq >= 100`, forged(3, prev))
		}, 4, "event 4 does not match its hash (edited)"},
		{"reordered", func(t *testing.T, p string) {
			rawExec(t, p, `UPDATE audit_events SET seq = -1 WHERE seq = 3`, `UPDATE audit_events SET seq = 3 WHERE seq = 4`, `UPDATE audit_events SET seq = 4 WHERE seq = -1`)
		}, 3, "event 3 does not match its hash (edited)"},
		{"truncated", func(t *testing.T, p string) {
			rawExec(t, p, `DELETE FROM audit_events WHERE seq >= 6`)
		}, 6, "events 6 to 8 are missing: the head says the log ends at 8 (truncated)"},
		{"appended outside the ledger", func(t *testing.T, p string) {
			var prev string
			db, _ := sql.Open("sqlite", p)
			db.QueryRow(`SELECT hash FROM audit_events WHERE seq = 8`).Scan(&prev)
			db.Close()
			rawExec(t, p, forged(9, prev))
		}, 9, "events after 8 were not written through the ledger: the head ends at 8 (appended)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := seedLog(t)
			if v := verify(t, path); !v.OK || v.Events != 8 {
				t.Fatalf("before tampering: %+v", v)
			}
			c.tamper(t, path)
			v := verify(t, path)
			if v.OK || v.FirstBadSeq != c.firstBad || v.Problem != c.problem {
				t.Fatalf("verify = ok %v first bad %d %q; want first bad %d %q", v.OK, v.FirstBadSeq, v.Problem, c.firstBad, c.problem)
			}
		})
	}
}

// A forger who rewrites an event and recomputes the hash chain after it,
// but not the Merkle tree, is caught by the tree: by the stored node over
// the event's 64, or, in the last partial run of events, by the head's
// root. Deleting a stored node is caught too.
func TestAuditVerify_DetectsTreeTampering(t *testing.T) {
	seed := func(t *testing.T) string { return seedTasks(t, 99) }
	// rechainWith rewrites event seq with edit and every hash from it on,
	// and the head's hash, as a forger who knows the algorithm would, and
	// leaves the tree as it was.
	rechainWith := func(t *testing.T, path string, seq int64, edit func(*fairway.AuditEvent)) {
		forge.Apply(t, path, forge.Rewrite{Seq: seq, Edit: edit})
	}
	rechain := func(t *testing.T, path string, seq int64) {
		rechainWith(t, path, seq, func(e *fairway.AuditEvent) { e.Subject = "T-FORGED" })
	}
	// backdate moves an event's time, which no row witnesses: only the
	// chain and the tree see it.
	backdate := func(t *testing.T, path string, seq int64) {
		rechainWith(t, path, seq, func(e *fairway.AuditEvent) { e.At = e.At.Add(-time.Hour) })
	}
	cases := []struct {
		name     string
		tamper   func(t *testing.T, path string)
		firstBad int64
		problem  string
	}{
		{"event under a stored node", func(t *testing.T, p string) { rechain(t, p, 10) }, 1,
			"events 1 to 64 do not hash to the audit tree's node over them: one of them, or the node, was edited"},
		{"event after the last stored node", func(t *testing.T, p string) { rechain(t, p, 90) }, 65,
			"the audit tree's root for 100 events is not the root of the events: one of events 65 to 100, or the tree's head, was edited"},
		// A forger who rechains an edit need not recompute the tree: the
		// head claiming fewer events than the log would skip its check.
		{"tree head shortened to skip the tree", func(t *testing.T, p string) {
			backdate(t, p, 10)
			rawExec(t, p, `UPDATE audit_head SET tree_size = 99 WHERE id = 1`)
		}, 100, "the audit tree's head covers 99 events but the log holds 100: the head was edited"},
		{"tree head emptied as if older than the tree", func(t *testing.T, p string) {
			backdate(t, p, 10)
			rawExec(t, p, `UPDATE audit_head SET tree_size = 0, tree_range = x'' WHERE id = 1`)
		}, 1, "the audit tree's head covers 0 events but the log holds 100 and the tree has nodes over them: the head was edited"},
		{"stored node deleted", func(t *testing.T, p string) {
			rawExec(t, p, `DROP TRIGGER IF EXISTS merkle_nodes_no_delete`, `DELETE FROM merkle_nodes WHERE level = 6 AND idx = 0`)
		}, 1, "the audit tree lacks its node over events 1 to 64 (deleted)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := seed(t)
			if v := verify(t, path); !v.OK || v.Events != 100 {
				t.Fatalf("before tampering: %+v", v)
			}
			c.tamper(t, path)
			v := verify(t, path)
			if v.OK || v.FirstBadSeq != c.firstBad || v.Problem != c.problem {
				t.Fatalf("verify = ok %v first bad %d %q; want first bad %d %q", v.OK, v.FirstBadSeq, v.Problem, c.firstBad, c.problem)
			}
		})
	}
}

// A forger who rewrites an event, rechains the log and empties the tree
// (its nodes and the head's size and range) makes the log look as if it
// predated the tree, whose check is then skipped. The head says where the
// tree began: a log that always had one is caught, under 64 events (no
// stored node to give it away) as above.
func TestAuditVerify_TreeEmptiedOnALogThatAlwaysHadOne(t *testing.T) {
	for _, n := range []int{7, 99} {
		t.Run(fmt.Sprintf("%d events", n+1), func(t *testing.T) {
			path := seedTasks(t, n)
			forge.Apply(t, path, forge.Rewrite{Seq: 3, Edit: forge.AddToChange, EmptyTree: true})
			v := verify(t, path)
			want := fmt.Sprintf("the audit tree's head covers 0 events but the log holds %d, and its tree began with event 1: the head was edited (emptied to skip the tree's check)", n+1)
			if v.OK || v.FirstBadSeq != 1 || v.Problem != want {
				t.Fatalf("verify = ok %v first bad %d %q; want first bad 1 %q", v.OK, v.FirstBadSeq, v.Problem, want)
			}
		})
	}
}

// asBeforeMigration0019 turns a ledger file back into what migration 0019
// found: without the columns it adds; with preTree, a log written before
// the Merkle tree (migration 0008) and not caught up since.
func asBeforeMigration0019(t *testing.T, path string, preTree bool) {
	stmts := []string{
		`DROP INDEX sessions_token`, `ALTER TABLE sessions DROP COLUMN token_id`,
		`ALTER TABLE audit_head DROP COLUMN tree_from`, `DELETE FROM schema_migrations WHERE version = 19`,
	}
	if preTree {
		stmts = append(stmts, `DROP TRIGGER merkle_nodes_no_delete`, `DELETE FROM merkle_nodes`,
			`UPDATE audit_head SET tree_size = 0, tree_range = x'' WHERE id = 1`)
	}
	rawExec(t, path, stmts...)
}

// A log from before the tree verifies after migration 0019, which records
// that its tree begins after its last event; the next write catches the
// tree up, and from then on the tree may not fall behind. A log whose
// tree had caught up before the migration is held to it at once.
func TestAuditVerify_MigrationRecordsWhereTheTreeBegan(t *testing.T) {
	t.Run("a log from before the tree", func(t *testing.T) {
		path := seedLog(t)
		asBeforeMigration0019(t, path, true)
		if v := verify(t, path); !v.OK || v.Events != 8 {
			t.Fatalf("a log from before the tree, migrated: %+v", v)
		}
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		l := ledger.New(s, nil)
		if _, err := l.CreateTask(fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "alice"}), fairway.TaskCreate{Key: "T-9", Title: "after the tree"}); err != nil {
			t.Fatal(err)
		}
		if head, err := l.AuditTree(context.Background()); err != nil || head.Size != 9 {
			t.Fatalf("tree after the first write: %+v %v, want all 9 events", head, err)
		}
		s.Close()
		if v := verify(t, path); !v.OK {
			t.Fatalf("after the catch-up: %+v", v)
		}
		forge.Apply(t, path, forge.Rewrite{Seq: 9, Edit: forge.AddToChange, EmptyTree: true})
		want := "the audit tree's head covers 0 events but the log holds 9, and its tree began with event 9: the head was edited (emptied to skip the tree's check)"
		if v := verify(t, path); v.OK || v.FirstBadSeq != 9 || v.Problem != want {
			t.Fatalf("emptied after the catch-up: %+v, want first bad 9 %q", v, want)
		}
	})
	t.Run("a log whose tree had caught up", func(t *testing.T) {
		path := seedLog(t)
		asBeforeMigration0019(t, path, false)
		if v := verify(t, path); !v.OK {
			t.Fatalf("migrated: %+v", v)
		}
		forge.Apply(t, path, forge.Rewrite{Seq: 2, Edit: forge.AddToChange, EmptyTree: true})
		if v := verify(t, path); v.OK || v.FirstBadSeq != 1 {
			t.Fatalf("emptied: %+v, want caught at event 1", v)
		}
	})
}

// An ordinary write does not catch an emptied tree up over the forged
// events, which would leave a log that verifies: it is refused, and the
// log still fails verify.
func TestAuditVerify_AWriteDoesNotLaunderAnEmptiedTree(t *testing.T) {
	path := seedLog(t)
	forge.Apply(t, path, forge.Rewrite{Seq: 3, Edit: forge.AddToChange, EmptyTree: true})
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(s, nil)
	_, err = l.CreateTask(fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "alice"}), fairway.TaskCreate{Key: "T-99", Title: "an ordinary write"})
	s.Close()
	if fairway.ErrorCode(err) != fairway.EINTERNAL || !strings.Contains(err.Error(), "the head was edited; run `fairway audit verify`") {
		t.Fatalf("a write on a log whose tree was emptied: %v, want refused, pointing to audit verify", err)
	}
	if v := verify(t, path); v.OK || v.FirstBadSeq != 1 {
		t.Fatalf("verify after the refused write: %+v, want still caught at event 1", v)
	}
}
