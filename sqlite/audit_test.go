package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"fairway"
	"fairway/ledger"
	"fairway/sqlite"
)

// seedLog writes eight audit events through the ledger and returns the
// database path, closed.
func seedLog(t *testing.T) string {
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
	for i := 1; i <= 7; i++ {
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
