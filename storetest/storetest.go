// Package storetest is the conformance suite every fairway.Store must pass.
// It checks the store's own contract (round trips, conflicts, not-found,
// atomic rollback, the ready index, the audit head) and then runs the
// ledger's rules on top of it, so a new store is proven by one call:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) fairway.Store { return openTestStore(t) })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"fairway"
	"fairway/ledger"
	"fairway/tlog"
)

// OpenFunc returns a new, empty store. The suite closes it.
type OpenFunc func(t *testing.T) fairway.Store

// Run runs the whole suite, each test on a fresh store.
func Run(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		fn   func(*testing.T, fairway.Store)
	}{
		{"TaskRoundTrip", testTaskRoundTrip},
		{"WatchingTasks", testWatchingTasks},
		{"InsertConflictAndNotFound", testConflictAndNotFound},
		{"UpdateRollsBackOnError", testUpdateRollsBack},
		{"ReadyIndexFollowsDependencies", testReadyIndex},
		{"LaneSequence", testLaneSequence},
		{"ActorTokens", testActorTokens},
		{"ActorLifecycle", testActorLifecycle},
		{"LoginLinks", testLoginLinks},
		{"TokensOneByOne", testTokensOneByOne},
		{"NarrowingRoundTrip", testNarrowingRoundTrip},
		{"ScopeRecords", testScopeRecords},
		{"WaiversAll", testWaiversAll},
		{"DependsOn", testDependsOn},
		{"NewestEvidence", testNewestEvidence},
		{"DeployRunRoundTrip", testDeployRunRoundTrip},
		{"AuditHeadMovesWithEvents", testAuditHead},
		{"AuditHeadKeyReadsTheCommittedHead", testAuditHeadKey},
		{"ConcurrentUpdatesAllCommit", testConcurrentUpdates},
		{"EvidenceProofLinkKeptAsGiven", testProofLinkKeptAsGiven},
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionObservations", testSessionObservations},
		{"SessionLeaseRenewal", testSessionLeaseRenewal},
		{"MerkleTreeKept", testMerkleTreeKept},
		{"MerkleRollbackKeepsTree", testMerkleRollbackKeepsTree},
		{"CheckpointsKept", testCheckpointsKept},
		{"Search", testSearch},
		{"TablesAreLedgerTables", testTablesAreLedgerTables},
	}
	for _, lt := range ledgerTests {
		tests = append(tests, struct {
			name string
			fn   func(*testing.T, fairway.Store)
		}{"Ledger/" + lt.name, func(t *testing.T, s fairway.Store) { lt.fn(t, newEnv(t, s)) }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
	opened := func(t *testing.T) fairway.Store {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("ExportImportRoundTrip", func(t *testing.T) { RoundTrip(t, opened(t), opened(t), true) })
	t.Run("ImportRefusesWhatDoesNotVerify", func(t *testing.T) { ImportRefusesWhatDoesNotVerify(t, opened(t), opened) })
}

var ctx = context.Background()

// clock is a deterministic clock that moves one second per call.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)} }

// advance moves the clock forward.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func update(t *testing.T, s fairway.Store, fn func(fairway.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func view(t *testing.T, s fairway.Store, fn func(fairway.Tx) error) {
	t.Helper()
	if err := s.View(ctx, fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := fairway.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func newTask(key string, at time.Time) *fairway.Task {
	return &fairway.Task{
		Key: key, Title: "Task " + key, Creator: "alice", Status: fairway.StatusOpen,
		Risk: fairway.RiskMedium, Priority: 2, CreatedAt: at, UpdatedAt: at,
	}
}

func testTaskRoundTrip(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 10, 30, 0, 123456789, time.UTC)
	want := &fairway.Task{
		Key: "OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001", Title: "Restore compute-vm-small capacity",
		Scope: fairway.Scope{Text: "local-maas-lxd capacity", Surfaces: []string{"runtime"}, ChangeClasses: []string{"runtime-environment"},
			Contracts: []string{"route:/v1/allocations"}, Paths: []string{"deploy/kind/**"}},
		Lane: "", Owner: "alice", Creator: "bob", Status: fairway.StatusBlocked, WaitReason: fairway.WaitCapacity,
		Risk: fairway.RiskHigh, Priority: 1, ReviewDomains: []string{"ops", "security"}, Mutating: true,
		Labels: []string{"kind", "uat"}, CreatedAt: at, UpdatedAt: at.Add(time.Minute),
	}
	update(t, s, func(tx fairway.Tx) error { return tx.InsertTask(want) })
	var got *fairway.Task
	view(t, s, func(tx fairway.Tx) (err error) { got, err = tx.Task(want.Key); return err })
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}

	want.Status, want.WaitReason, want.ClosedAt, want.CancelReason = fairway.StatusCancelled, "", at.Add(time.Hour), "superseded"
	update(t, s, func(tx fairway.Tx) error { return tx.UpdateTask(want) })
	view(t, s, func(tx fairway.Tx) (err error) { got, err = tx.Task(want.Key); return err })
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after update:\n got %+v\nwant %+v", got, want)
	}
}

// testWatchingTasks: the open tasks whose watch names a repository, as
// WatchOf reads labels, and nothing else; a task follows its labels and
// status through updates.
func testWatchingTasks(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	labelled := func(key, status string, labels ...string) *fairway.Task {
		task := newTask(key, at)
		task.Status, task.Labels = status, labels
		return task
	}
	tasks := []*fairway.Task{
		labelled("W-1", fairway.StatusOpen, "monitor", "repo/acme/gpuaas", "run/42"),
		labelled("W-2", fairway.StatusInReview, "repo/acme/gpuaas", "monitor"),
		labelled("W-3", fairway.StatusBlocked, "monitor", "repo/acme/portal"),
		labelled("W-4", fairway.StatusDone, "monitor", "repo/acme/gpuaas"),
		labelled("W-5", fairway.StatusCancelled, "monitor", "repo/acme/gpuaas"),
		labelled("W-6", fairway.StatusOpen, "repo/acme/gpuaas"),
		labelled("W-7", fairway.StatusOpen, "monitor"),
		labelled("W-8", fairway.StatusInProgress, "monitor", "repo/acme/old", "repo/acme/gpuaas"),
		labelled("W-9", fairway.StatusOpen, "monitor", "repo/acme/gpuaas/extra"),
		labelled("W-10", fairway.StatusOpen, "Monitor", "repo/acme/gpuaas"),
	}
	update(t, s, func(tx fairway.Tx) error {
		for _, task := range tasks {
			if err := tx.InsertTask(task); err != nil {
				return err
			}
		}
		return nil
	})
	watching := func(repo string) string {
		t.Helper()
		var got []*fairway.Task
		view(t, s, func(tx fairway.Tx) (err error) { got, err = tx.WatchingTasks(repo); return err })
		keys := make([]string, len(got))
		for i, task := range got {
			keys[i] = task.Key
			if i := slices.IndexFunc(tasks, func(w *fairway.Task) bool { return w.Key == task.Key }); i < 0 || !reflect.DeepEqual(task, tasks[i]) {
				t.Fatalf("watching task %s is not as written: %+v", task.Key, task)
			}
		}
		return fmt.Sprint(keys)
	}
	for repo, want := range map[string]string{"acme/gpuaas": "[W-1 W-2 W-8]", "acme/portal": "[W-3]", "acme/old": "[]", "": "[]", "acme": "[]"} {
		if got := watching(repo); got != want {
			t.Errorf("watching %q = %s, want %s", repo, got, want)
		}
	}
	// W-1 is done, W-6 becomes a monitor, W-2 stops being one, W-3 moves
	// to another repository.
	tasks[0].Status = fairway.StatusDone
	tasks[5].Labels = []string{"repo/acme/gpuaas", "monitor"}
	tasks[1].Labels = []string{"repo/acme/gpuaas"}
	tasks[2].Labels = []string{"monitor", "repo/acme/gpuaas"}
	tasks[3].Status = fairway.StatusInReview
	update(t, s, func(tx fairway.Tx) error {
		for _, i := range []int{0, 1, 2, 3, 5} {
			if err := tx.UpdateTask(tasks[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if got := watching("acme/gpuaas"); got != "[W-3 W-4 W-6 W-8]" {
		t.Errorf("after updates, watching acme/gpuaas = %s, want [W-3 W-4 W-6 W-8]", got)
	}
	if got := watching("acme/portal"); got != "[]" {
		t.Errorf("after updates, watching acme/portal = %s, want []", got)
	}
}

func testConflictAndNotFound(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	update(t, s, func(tx fairway.Tx) error { return tx.InsertTask(newTask("A-1", at)) })
	wantCode(t, s.Update(ctx, func(tx fairway.Tx) error { return tx.InsertTask(newTask("A-1", at)) }), fairway.ECONFLICT)
	wantCode(t, s.View(ctx, func(tx fairway.Tx) error { _, err := tx.Task("NOPE-1"); return err }), fairway.ENOTFOUND)
	wantCode(t, s.Update(ctx, func(tx fairway.Tx) error { return tx.UpdateTask(newTask("NOPE-1", at)) }), fairway.ENOTFOUND)
	wantCode(t, s.View(ctx, func(tx fairway.Tx) error { _, err := tx.Lane("none"); return err }), fairway.ENOTFOUND)
	wantCode(t, s.View(ctx, func(tx fairway.Tx) error { _, err := tx.Actor("none"); return err }), fairway.ENOTFOUND)
	update(t, s, func(tx fairway.Tx) error { return tx.InsertTask(newTask("A-2", at)) })
	update(t, s, func(tx fairway.Tx) error { return tx.InsertDependency("A-2", "A-1") })
	wantCode(t, s.Update(ctx, func(tx fairway.Tx) error { return tx.InsertDependency("A-2", "A-1") }), fairway.ECONFLICT)
	wantCode(t, s.Update(ctx, func(tx fairway.Tx) error { return tx.DeleteDependency("A-1", "A-2") }), fairway.ENOTFOUND)
}

func testUpdateRollsBack(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx fairway.Tx) error {
		if err := tx.InsertTask(newTask("ROLL-1", at)); err != nil {
			return err
		}
		e := &fairway.AuditEvent{At: at, Actor: "alice", ActorKind: "human", Action: "task.create", Subject: "ROLL-1", Change: []byte(`{}`)}
		e.Seal(fairway.AuditHead{})
		tree, err := tlog.Append(0, nil, tlog.LeafHash(e))
		if err != nil {
			return err
		}
		if err := tx.AppendAudit(e, tree); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want boom", err)
	}
	view(t, s, func(tx fairway.Tx) error {
		if _, err := tx.Task("ROLL-1"); fairway.ErrorCode(err) != fairway.ENOTFOUND {
			t.Errorf("task after rollback: err = %v, want not found", err)
		}
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if head.Seq != 0 {
			t.Errorf("audit head after rollback = %d, want 0", head.Seq)
		}
		return nil
	})
}

func keys(tasks []*fairway.Task) []string {
	out := []string{}
	for _, t := range tasks {
		out = append(out, t.Key)
	}
	return out
}

func testReadyIndex(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	mk := func(key string, prio int, risk string, age int) *fairway.Task {
		task := newTask(key, at.Add(time.Duration(age)*time.Minute))
		task.Priority, task.Risk = prio, risk
		return task
	}
	update(t, s, func(tx fairway.Tx) error {
		for _, task := range []*fairway.Task{
			mk("R-LOW", 2, fairway.RiskLow, 1), mk("R-CRIT", 2, fairway.RiskCritical, 2), mk("R-OLD", 2, fairway.RiskLow, 0),
			mk("R-P0", 0, fairway.RiskLow, 3), mk("R-WAIT", 0, fairway.RiskCritical, 0), mk("R-DEP", 1, fairway.RiskLow, 0),
		} {
			if err := tx.InsertTask(task); err != nil {
				return err
			}
		}
		return tx.InsertDependency("R-WAIT", "R-DEP")
	})
	ready := func(limit int) []string {
		var out []*fairway.Task
		view(t, s, func(tx fairway.Tx) (err error) {
			out, err = tx.ReadyTasks(fairway.NextFilter{Limit: limit})
			return err
		})
		return keys(out)
	}
	want := []string{"R-P0", "R-DEP", "R-CRIT", "R-OLD", "R-LOW"}
	if got := ready(10); !reflect.DeepEqual(got, want) {
		t.Fatalf("ready = %v, want %v", got, want)
	}
	if got := ready(2); !reflect.DeepEqual(got, want[:2]) {
		t.Fatalf("ready limit 2 = %v, want %v", got, want[:2])
	}
	update(t, s, func(tx fairway.Tx) error {
		dep, err := tx.Task("R-DEP")
		if err != nil {
			return err
		}
		dep.Status = fairway.StatusDone
		return tx.UpdateTask(dep)
	})
	want = []string{"R-WAIT", "R-P0", "R-CRIT", "R-OLD", "R-LOW"}
	if got := ready(10); !reflect.DeepEqual(got, want) {
		t.Fatalf("ready after blocker done = %v, want %v", got, want)
	}
	// A new dependency on a done task adds nothing pending; one on an
	// unfinished task does, and removing it takes it away again.
	update(t, s, func(tx fairway.Tx) error { return tx.InsertDependency("R-LOW", "R-DEP") })
	update(t, s, func(tx fairway.Tx) error { return tx.InsertDependency("R-OLD", "R-CRIT") })
	want = []string{"R-WAIT", "R-P0", "R-CRIT", "R-LOW"}
	if got := ready(10); !reflect.DeepEqual(got, want) {
		t.Fatalf("ready with R-OLD waiting = %v, want %v", got, want)
	}
	view(t, s, func(tx fairway.Tx) error {
		c, err := tx.CountReady("")
		if c != 4 || err != nil {
			t.Errorf("CountReady = %d, %v; want 4", c, err)
		}
		return nil
	})
	update(t, s, func(tx fairway.Tx) error { return tx.DeleteDependency("R-OLD", "R-CRIT") })
	if got := ready(10); len(got) != 5 {
		t.Fatalf("ready after removing the edge = %v, want 5 tasks", got)
	}
}

func testLaneSequence(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	lane := &fairway.Lane{Name: "closeout", KeyPrefix: "OPS-FIX", Description: "closeout work", CreatedAt: at, CreatedBy: "alice"}
	update(t, s, func(tx fairway.Tx) error { return tx.InsertLane(lane) })
	wantCode(t, s.Update(ctx, func(tx fairway.Tx) error {
		return tx.InsertLane(&fairway.Lane{Name: "other", KeyPrefix: "OPS-FIX", CreatedAt: at, CreatedBy: "alice"})
	}), fairway.ECONFLICT)
	for want := int64(1); want <= 3; want++ {
		var n int64
		update(t, s, func(tx fairway.Tx) (err error) { n, err = tx.NextLaneSeq("closeout"); return err })
		if n != want {
			t.Fatalf("NextLaneSeq = %d, want %d", n, want)
		}
	}
	var got *fairway.Lane
	view(t, s, func(tx fairway.Tx) (err error) { got, err = tx.Lane("closeout"); return err })
	if !reflect.DeepEqual(got, lane) {
		t.Fatalf("lane = %+v, want %+v", got, lane)
	}
}

func testActorTokens(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	a := &fairway.Actor{Name: "codex-1", Kind: fairway.KindAgent, DisplayName: "Codex", CreatedAt: at, CreatedBy: "alice"}
	update(t, s, func(tx fairway.Tx) error { return tx.InsertActor(a) })
	update(t, s, func(tx fairway.Tx) error {
		return tx.InsertToken("hash-1", &fairway.Token{Actor: "codex-1", CreatedAt: at})
	})
	view(t, s, func(tx fairway.Tx) error {
		got, _, err := tx.ActorByTokenHash("hash-1")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("ActorByTokenHash = %+v, want %+v", got, a)
		}
		_, _, err = tx.ActorByTokenHash("hash-2")
		wantCode(t, err, fairway.EUNAUTHORIZED)
		n, err := tx.CountActors()
		if n != 1 || err != nil {
			t.Errorf("CountActors = %d, %v; want 1", n, err)
		}
		return nil
	})
}

func testAuditHead(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var sealed []*fairway.AuditEvent
	for i := range 3 {
		update(t, s, func(tx fairway.Tx) error {
			head, err := tx.AuditHead()
			if err != nil {
				return err
			}
			e := &fairway.AuditEvent{At: at.Add(time.Duration(i) * time.Second), Actor: "alice", ActorKind: "human",
				Action: "task.create", Subject: fmt.Sprintf("T-%d", i), Change: []byte(`{"n":1}`)}
			e.Seal(head)
			sealed = append(sealed, e)
			tree, err := tlog.Append(head.TreeSize, head.Range, tlog.LeafHash(e))
			if err != nil {
				return err
			}
			return tx.AppendAudit(e, tree)
		})
	}
	view(t, s, func(tx fairway.Tx) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if head.Seq != 3 || head.Hash != sealed[2].Hash {
			t.Errorf("head = %+v, want seq 3 hash %s", head, sealed[2].Hash)
		}
		got, err := tx.AuditEvents(fairway.AuditFilter{AfterSeq: 1})
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, sealed[1:]) {
			t.Errorf("events after 1 = %+v, want %+v", got, sealed[1:])
		}
		got, err = tx.AuditEvents(fairway.AuditFilter{Subject: "T-0"})
		if err != nil || len(got) != 1 || got[0].Seq != 1 {
			t.Errorf("events of T-0 = %+v, %v", got, err)
		}
		return nil
	})
}

// A store that reads the head's key outside a transaction
// (fairway.HeadKeyReader) gives the head a read transaction gives, and
// never one a write has not committed: the ledger trusts what it keeps
// about actors and tokens only at heads it names.
func testAuditHeadKey(t *testing.T, s fairway.Store) {
	r, ok := s.(fairway.HeadKeyReader)
	if !ok {
		t.Skip("the store reads the head only in a transaction")
	}
	ctx := context.Background()
	same := func(when string) {
		t.Helper()
		var head fairway.AuditHead
		view(t, s, func(tx fairway.Tx) (err error) { head, err = tx.AuditHead(); return err })
		seq, hash, err := r.AuditHeadKey(ctx)
		if err != nil || seq != head.Seq || hash != head.Hash {
			t.Fatalf("%s: head key = %d %q (%v), want %d %q", when, seq, hash, err, head.Seq, head.Hash)
		}
	}
	same("empty store")
	appendEvent := func(tx fairway.Tx, subject string) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		e := &fairway.AuditEvent{At: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Actor: "alice", ActorKind: "human",
			Action: "task.create", Subject: subject, Change: []byte(`{"n":1}`)}
		e.Seal(head)
		tree, err := tlog.Append(head.TreeSize, head.Range, tlog.LeafHash(e))
		if err != nil {
			return err
		}
		return tx.AppendAudit(e, tree)
	}
	update(t, s, func(tx fairway.Tx) error { return appendEvent(tx, "T-1") })
	same("after a write")
	before, beforeHash, err := r.AuditHeadKey(ctx)
	if err != nil || before != 1 {
		t.Fatalf("head key after one event = %d (%v), want 1", before, err)
	}
	refused := errors.New("refused")
	err = s.Update(ctx, func(tx fairway.Tx) error {
		if err := appendEvent(tx, "T-2"); err != nil {
			return err
		}
		if seq, hash, err := r.AuditHeadKey(ctx); err != nil || seq != before || hash != beforeHash {
			t.Errorf("head key inside a write not yet committed = %d %q (%v), want the committed %d %q", seq, hash, err, before, beforeHash)
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("write = %v, want it refused", err)
	}
	same("after a write rolled back")
}

func testConcurrentUpdates(t *testing.T, s fairway.Store) {
	l := ledger.New(s, nil)
	l.Now = newClock().Now
	if _, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}); err != nil {
		t.Fatal(err)
	}
	as := fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice"})
	const writers, each = 16, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := l.CreateTask(as, fairway.TaskCreate{Key: fmt.Sprintf("C-%d-%d", w, i), Title: "concurrent"})
				if err != nil {
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
	tasks, err := l.ListTasks(ctx, fairway.TaskFilter{})
	if err != nil || len(tasks) != writers*each {
		t.Fatalf("tasks = %d, %v; want %d", len(tasks), err, writers*each)
	}
	v, err := l.VerifyAudit(ctx)
	if err != nil || !v.OK || v.Events != writers*each+1 {
		t.Fatalf("verify = %+v, %v; want ok with %d events", v, err, writers*each+1)
	}
}
