package postgres_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fairway"
	"fairway/postgres"
	"fairway/tlog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// rawConn connects to schema directly, past the store.
func rawConn(t *testing.T, schema string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

func TestOpen_FiveReplicasMigrateOnce(t *testing.T) {
	testURL(t)
	t.Parallel()
	schema := MustNewSchema(t)
	stores := make([]*postgres.Store, 5)
	var fns []func() error
	for i := range stores {
		fns = append(fns, func() (err error) {
			stores[i], err = postgres.Open(ctx, testURL(t), postgres.Options{Schema: schema})
			return err
		})
	}
	errs := race(fns...)
	for i, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
		if errs[i] != nil {
			t.Fatalf("replica %d: open: %v", i, errs[i])
		}
	}
	conn := rawConn(t, schema)
	rows, err := conn.Query(ctx, `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var v int
		var name string
		err := r.Scan(&v, &name)
		return name, err
	})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	var want []string
	for _, f := range files {
		want = append(want, filepath.Base(f))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schema_migrations = %v, want %v", got, want)
	}
	var heads int
	if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM audit_head`).Scan(&heads); err != nil || heads != 1 {
		t.Fatalf("audit_head rows = %d, %v; want 1", heads, err)
	}
}

func TestImmutability_TheDatabaseRefusesEdits(t *testing.T) {
	testURL(t)
	t.Parallel()
	schema := MustNewSchema(t)
	s := MustOpenSchema(t, schema, postgres.Options{})
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	err := s.Update(ctx, func(tx fairway.Tx) error {
		if err := tx.InsertTask(&fairway.Task{Key: "IMM-1", Title: "t", Creator: "alice", Status: fairway.StatusOpen, Risk: fairway.RiskLow, CreatedAt: at, UpdatedAt: at}); err != nil {
			return err
		}
		if err := tx.InsertEvidence(&fairway.Evidence{ID: "EV-1", Task: "IMM-1", Kind: "log", Digest: "sha256:00", RecordedBy: "alice", RecordedAt: at}, nil); err != nil {
			return err
		}
		if err := tx.InsertReview(&fairway.Review{Task: "IMM-1", Domain: "ops", Reviewer: "bob", ReviewerKind: "human", Verdict: "approved", Snapshot: "s", At: at}); err != nil {
			return err
		}
		if err := tx.InsertScopeRecord(&fairway.ScopeRecord{Task: "IMM-1", Kind: fairway.ScopeChecked, Paths: []string{"a"}, Outside: []string{"a"}, By: "codex", At: at}); err != nil {
			return err
		}
		e := &fairway.AuditEvent{At: at, Actor: "alice", ActorKind: "human", Action: "task.create", Subject: "IMM-1", Change: []byte(`{}`)}
		e.Seal(fairway.AuditHead{})
		tree, err := tlog.Append(0, nil, tlog.LeafHash(e))
		if err != nil {
			return err
		}
		// The ledger stores one node per 64 events: this one stands for
		// them, so that the tree's table has a row to refuse edits of.
		tree.Nodes = append(tree.Nodes, fairway.MerkleNode{MerkleNodeID: fairway.MerkleNodeID{Level: 6}, Hash: make([]byte, 32)})
		return tx.AppendAudit(e, tree)
	})
	if err != nil {
		t.Fatal(err)
	}
	conn := rawConn(t, schema)
	tests := []struct {
		stmt, message string
	}{
		{`UPDATE evidence SET kind = 'smoke'`, "evidence is immutable: record new evidence that supersedes it"},
		{`DELETE FROM evidence`, "evidence is immutable: record new evidence that supersedes it"},
		{`TRUNCATE evidence CASCADE`, "evidence is immutable: record new evidence that supersedes it"},
		{`UPDATE reviews SET verdict = 'changes_requested'`, "reviews are immutable: record a new verdict"},
		{`DELETE FROM reviews`, "reviews are immutable: record a new verdict"},
		{`UPDATE audit_events SET actor = 'mallory'`, "audit events are immutable: the log is append-only"},
		{`DELETE FROM audit_events WHERE seq = 1`, "audit events are immutable: the log is append-only"},
		{`TRUNCATE audit_events`, "audit events are immutable: the log is append-only"},
		{`UPDATE scope_records SET outside = '[]'`, "scope records are immutable: record a new check or acknowledgement"},
		{`DELETE FROM scope_records`, "scope records are immutable: record a new check or acknowledgement"},
		{`UPDATE merkle_nodes SET hash = '\x00'`, "audit tree nodes are immutable: the log is append-only"},
		{`DELETE FROM merkle_nodes`, "audit tree nodes are immutable: the log is append-only"},
		{`TRUNCATE merkle_nodes`, "audit tree nodes are immutable: the log is append-only"},
	}
	for _, tt := range tests {
		_, err := conn.Exec(ctx, tt.stmt)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Message != tt.message || pe.Code != "23001" {
			t.Errorf("%s: err = %v, want restrict_violation %q", tt.stmt, err, tt.message)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM evidence WHERE kind = 'log') + (SELECT COUNT(*) FROM reviews WHERE verdict = 'approved') + (SELECT COUNT(*) FROM audit_events WHERE actor = 'alice')`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("rows intact = %d, %v; want 3", n, err)
	}
}

// TestUpdate_RetriesASerializationFailure has a transaction outside the
// store change the row a write is about to change, and commit only once
// the write waits on it: the write fails to serialize, and the store runs
// it again instead of answering with the failure.
func TestUpdate_RetriesASerializationFailure(t *testing.T) {
	testURL(t)
	t.Parallel()
	schema := MustNewSchema(t)
	s := MustOpenSchema(t, schema, postgres.Options{})
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	if err := s.Update(ctx, func(tx fairway.Tx) error {
		return tx.InsertLane(&fairway.Lane{Name: "retry", CreatedAt: at, CreatedBy: "alice"})
	}); err != nil {
		t.Fatal(err)
	}
	other := rawConn(t, schema)
	otherTx, err := other.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := otherTx.Exec(ctx, `UPDATE lanes SET next_seq = next_seq + 1 WHERE name = 'retry'`); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	var seq int64
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx fairway.Tx) (err error) {
			runs.Add(1)
			seq, err = tx.NextLaneSeq("retry")
			return err
		})
	}()
	// Wait (however long it takes) until the store's write is blocked on
	// the row the other transaction holds.
	watch := rawConn(t, schema)
	for {
		var waiting int
		if err := watch.QueryRow(ctx, `SELECT COUNT(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE lanes SET next_seq%' AND pid <> $1`, other.PgConn().PID()).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := otherTx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Update = %v, want the store to retry and succeed", err)
	}
	if runs.Load() != 2 || seq != 2 {
		t.Fatalf("fn ran %d times and got seq %d, want 2 runs and seq 2", runs.Load(), seq)
	}
}

// TestUpdate_FailingWritesInABatchLeaveTheOthers runs writes at once, half
// of which fail after writing: each failing one keeps nothing and gets its
// own error, each other one commits, however they were batched.
func TestUpdate_FailingWritesInABatchLeaveTheOthers(t *testing.T) {
	testURL(t)
	t.Parallel()
	s := MustOpenStore(t, postgres.Options{})
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	const writes = 64
	var fns []func() error
	for i := range writes {
		fns = append(fns, func() error {
			return s.Update(ctx, func(tx fairway.Tx) error {
				key := fmt.Sprintf("B-%d", i)
				if err := tx.InsertTask(&fairway.Task{Key: key, Title: "t", Creator: "alice", Status: fairway.StatusOpen, Risk: fairway.RiskLow, CreatedAt: at, UpdatedAt: at}); err != nil {
					return err
				}
				if i%2 == 1 {
					return fmt.Errorf("write %d fails", i)
				}
				return nil
			})
		})
	}
	errs := race(fns...)
	var want []string
	for i, err := range errs {
		if i%2 == 1 {
			if err == nil || err.Error() != fmt.Sprintf("write %d fails", i) {
				t.Fatalf("write %d: err = %v, want its own failure", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		want = append(want, fmt.Sprintf("B-%d", i))
	}
	slices.Sort(want)
	var got []string
	if err := s.View(ctx, func(tx fairway.Tx) error {
		tasks, err := tx.Tasks(fairway.TaskFilter{})
		for _, task := range tasks {
			got = append(got, task.Key)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("tasks = %v, want %v", got, want)
	}
}

// TestClose_WritesRacingCloseAllAnswer closes the store while writers keep
// coming: every write gets an answer (committed or "store is closed"),
// none waits forever.
func TestClose_WritesRacingCloseAllAnswer(t *testing.T) {
	testURL(t)
	t.Parallel()
	schema := MustNewSchema(t)
	for round := range 5 {
		s, err := postgres.Open(ctx, testURL(t), postgres.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		var fns []func() error
		for range 32 {
			fns = append(fns, func() error {
				return s.Update(ctx, func(tx fairway.Tx) error { _, err := tx.AuditHead(); return err })
			})
		}
		fns = append(fns, func() error { return s.Close() })
		for i, err := range race(fns...) {
			if err != nil && fairway.ErrorMessage(err) != "store is closed" {
				t.Fatalf("round %d, write %d: unexpected error %v", round, i, err)
			}
		}
	}
}

func TestOpen_BadURLIsRefused(t *testing.T) {
	_, err := postgres.Open(ctx, "postgres://db:notaport/fairway", postgres.Options{})
	if fairway.ErrorCode(err) != fairway.EINVALID || !strings.HasPrefix(err.Error(), "store: is not a PostgreSQL URL: ") {
		t.Fatalf("Open with a bad URL = %v, want an invalid store error", err)
	}
}
