package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/postgres"

	"github.com/jackc/pgx/v5"
)

var ctx = context.Background()

func as(name string) context.Context {
	return fairway.NewContextWithActor(ctx, &fairway.Actor{Name: name})
}

// replicas opens n stores on one schema, each with its own ledger, as n
// `fairway serve` processes on one database would, and creates the human
// alice through the first.
func replicas(t *testing.T, n int) []*ledger.Ledger {
	t.Helper()
	schema := MustNewSchema(t)
	blobs, err := blob.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []*ledger.Ledger
	for range n {
		out = append(out, ledger.New(MustOpenSchema(t, schema, postgres.Options{}), blobs))
	}
	if _, err := out[0].CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}); err != nil {
		t.Fatal(err)
	}
	return out
}

// race runs each fn at the same moment and returns their errors in order.
func race(fns ...func() error) []error {
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// winners counts the nil errors and requires every other to carry code.
func winners(t *testing.T, errs []error, code string) int {
	t.Helper()
	n := 0
	for _, err := range errs {
		switch {
		case err == nil:
			n++
		case fairway.ErrorCode(err) != code:
			t.Fatalf("loser's error = %v (code %q), want code %q", err, fairway.ErrorCode(err), code)
		}
	}
	return n
}

func TestReplicas_AuditChainStaysLinear(t *testing.T) {
	testURL(t)
	t.Parallel()
	ls := replicas(t, 3)
	const clients, each = 24, 10
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := ls[c%len(ls)]
			for i := range each {
				if _, err := l.CreateTask(as("alice"), fairway.TaskCreate{Key: fmt.Sprintf("C-%d-%d", c, i), Title: "concurrent"}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent create: %v", err)
	}
	for i, l := range ls {
		v, err := l.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := &fairway.AuditVerification{OK: true, Events: clients*each + 1, Head: v.Head}
		if !reflect.DeepEqual(v, want) || v.Head.Seq != clients*each+1 {
			t.Fatalf("replica %d: verify = %+v, want one chain of %d events", i, v, clients*each+1)
		}
		tasks, err := l.ListTasks(ctx, fairway.TaskFilter{})
		if err != nil || len(tasks) != clients*each {
			t.Fatalf("replica %d: tasks = %d, %v; want %d", i, len(tasks), err, clients*each)
		}
	}
}

func TestReplicas_ClaimHasOneWinner(t *testing.T) {
	testURL(t)
	t.Parallel()
	ls := replicas(t, 2)
	for round := range 20 {
		key := fmt.Sprintf("CLAIM-%d", round)
		if _, err := ls[0].CreateTask(as("alice"), fairway.TaskCreate{Key: key, Title: "claim me"}); err != nil {
			t.Fatal(err)
		}
		claim := func(l *ledger.Ledger) func() error {
			return func() error {
				_, err := l.TransitionTask(as("alice"), key, fairway.Transition{Status: fairway.StatusInProgress})
				return err
			}
		}
		errs := race(claim(ls[0]), claim(ls[1]))
		if n := winners(t, errs, fairway.ECONFLICT); n != 1 {
			t.Fatalf("round %d: %d claims won (%v), want exactly 1", round, n, errs)
		}
		events, err := ls[1].AuditLog(ctx, fairway.AuditFilter{Subject: key})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action)
		}
		if want := []string{"task.create", "task.transition"}; !reflect.DeepEqual(actions, want) {
			t.Fatalf("round %d: audit of %s = %v, want %v", round, key, actions, want)
		}
	}
}

func TestReplicas_CycleCannotClose(t *testing.T) {
	testURL(t)
	t.Parallel()
	ls := replicas(t, 2)
	for round := range 20 {
		a, b := fmt.Sprintf("CYC-%d-A", round), fmt.Sprintf("CYC-%d-B", round)
		for _, key := range []string{a, b} {
			if _, err := ls[0].CreateTask(as("alice"), fairway.TaskCreate{Key: key, Title: "cycle"}); err != nil {
				t.Fatal(err)
			}
		}
		errs := race(
			func() error { return ls[0].AddDependency(as("alice"), a, b) },
			func() error { return ls[1].AddDependency(as("alice"), b, a) },
		)
		if n := winners(t, errs, fairway.ECONFLICT); n != 1 {
			t.Fatalf("round %d: %d of two edges closing a cycle were added (%v), want exactly 1", round, n, errs)
		}
		for _, err := range errs {
			if err != nil && !strings.Contains(fairway.ErrorMessage(err), "closes the cycle") {
				t.Fatalf("round %d: refusal = %q, want it to name the cycle", round, fairway.ErrorMessage(err))
			}
		}
		deps, err := ls[1].Dependencies(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if edges := len(deps.BlockedBy) + len(deps.Blocks); edges != 1 {
			t.Fatalf("round %d: %s has %d edges (%+v), want 1", round, a, edges, deps)
		}
	}
}

// A watcher on one replica hears a write made through another at once,
// through LISTEN/NOTIFY: its poll interval is an hour, so only the
// notification can wake it.
func TestReplicas_WatchHearsOtherReplicas(t *testing.T) {
	testURL(t)
	t.Parallel()
	ls := replicas(t, 2)
	ls[0].WatchPoll = time.Hour
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	got := make(chan string, 1)
	ready := make(chan struct{})
	go func() {
		first := true
		ls[0].Watch(wctx, fairway.AuditFilter{}, func(e *fairway.AuditEvent) error {
			if first { // the existing actor.create: the watcher is now waiting
				first = false
				close(ready)
				return nil
			}
			got <- e.Action + " " + e.Subject
			return errors.New("done")
		})
	}()
	<-ready
	if _, err := ls[1].CreateTask(as("alice"), fairway.TaskCreate{Key: "HEARD-1", Title: "written on replica 2"}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "task.create HEARD-1" {
			t.Fatalf("watcher saw %q", s)
		}
	case <-wctx.Done():
		t.Fatal("the watcher on replica 1 never heard the write on replica 2")
	}
}

// Ready answers while the schema is this build's and refuses once the
// database holds a migration this build does not know.
func TestReady_WantsCurrentMigrations(t *testing.T) {
	testURL(t)
	t.Parallel()
	s := MustOpenStore(t, postgres.Options{})
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("fresh store: %v", err)
	}
	if st := s.Stats(); st.Pool == nil || st.Pool.Max <= 0 {
		t.Fatalf("stats = %+v, want the pool's size", st)
	}
	other := MustOpenSchema(t, s.Schema(), postgres.Options{})
	l := ledger.New(other, nil)
	if _, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}); err != nil {
		t.Fatal(err)
	}
	if st := other.Stats(); st.BatchWrites.Sum != 1 || st.CommitSeconds.Count != 1 {
		t.Fatalf("after one write: batch writes %v in %d commits, want 1 in 1", st.BatchWrites.Sum, st.CommitSeconds.Count)
	}
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO `+pgx.Identifier{s.Schema(), "schema_migrations"}.Sanitize()+` (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctx); err == nil || !strings.Contains(fairway.ErrorMessage(err), "migrations are not current") {
		t.Fatalf("Ready after a newer migration = %v, want a refusal naming the migrations", err)
	}
}
