package ledger_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"fairway"
)

// Two agents take the same task at once: exactly one wins, the other is
// refused naming the winner, and the audit log says who started it.
func TestTakeTask_ConcurrentTakersOneWins(t *testing.T) {
	for round := range 5 {
		l := MustOpenLedger(t)
		setUp(t, l, true)
		must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: "gemini", Kind: fairway.KindAgent}))
		takers := []string{"codex", "gemini"}
		errs := make([]error, len(takers))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, name := range takers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = l.TakeTask(as(name), "OPS-FIX-001")
			}()
		}
		close(start)
		wg.Wait()
		winner, loser := -1, -1
		for i, err := range errs {
			switch fairway.ErrorCode(err) {
			case "":
				winner = i
			case fairway.ECONFLICT:
				loser = i
			default:
				t.Fatalf("round %d: %s: %v", round, takers[i], err)
			}
		}
		if winner < 0 || loser < 0 {
			t.Fatalf("round %d: errors %v, want exactly one winner and one conflict", round, errs)
		}
		task := must(l.GetTask(context.Background(), "OPS-FIX-001"))
		if task.Owner != takers[winner] || task.AssignedBy != takers[winner] || task.Status != fairway.StatusInProgress {
			t.Fatalf("round %d: task = owner %q assigned by %q status %s, want %s in_progress", round, task.Owner, task.AssignedBy, task.Status, takers[winner])
		}
		events := must(l.AuditLog(context.Background(), fairway.AuditFilter{Subject: "OPS-FIX-001"}))
		var took, refused int
		for _, e := range events {
			switch e.Action {
			case "task.take":
				took++
				var change map[string]any // the task row it leaves is an object
				if err := json.Unmarshal(e.Change, &change); err != nil {
					t.Fatal(err)
				}
				if e.Actor != takers[winner] || change["owner"] != takers[winner] || change["to"] != fairway.StatusInProgress {
					t.Fatalf("round %d: take audited as %s %v", round, e.Actor, change)
				}
			case "task.take.refused":
				refused++
				if e.Actor != takers[loser] {
					t.Fatalf("round %d: refusal audited as %s, want %s", round, e.Actor, takers[loser])
				}
			}
		}
		if took != 1 || refused != 1 {
			t.Fatalf("round %d: %d take and %d refusal events, want 1 and 1", round, took, refused)
		}
	}
}

func TestTakeTask_Rules(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-010", Title: "owned", Owner: "omar"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-011", Title: "mine", Owner: "codex"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-012", Title: "blocked"}))
	must(l.TransitionTask(as("alice"), "OPS-FIX-012", fairway.Transition{Status: fairway.StatusBlocked, WaitReason: fairway.WaitCapacity}))
	cases := []struct {
		name, key, as string
		code          string
		owner, status string
	}{
		{"owned by someone else", "OPS-FIX-010", "codex", fairway.ECONFLICT, "omar", fairway.StatusOpen},
		{"already owned by the taker", "OPS-FIX-011", "codex", "", "codex", fairway.StatusInProgress},
		{"taking it again changes nothing", "OPS-FIX-011", "codex", "", "codex", fairway.StatusInProgress},
		{"a blocked task", "OPS-FIX-012", "codex", fairway.ECONFLICT, "", fairway.StatusBlocked},
		{"no such task", "OPS-FIX-404", "codex", fairway.ENOTFOUND, "", ""},
		{"a bad key", "ops fix", "codex", fairway.EINVALID, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := auditLen(t, l)
			_, err := l.TakeTask(as(c.as), c.key)
			if fairway.ErrorCode(err) != c.code {
				t.Fatalf("take %s: %v, want code %q", c.key, err, c.code)
			}
			if c.status == "" {
				return
			}
			task := must(l.GetTask(context.Background(), c.key))
			if task.Owner != c.owner || task.Status != c.status {
				t.Fatalf("after take: owner %q status %s, want %q %s", task.Owner, task.Status, c.owner, c.status)
			}
			if c.code == "" && c.name == "taking it again changes nothing" && auditLen(t, l) != before {
				t.Fatalf("a repeated take wrote %d audit events", auditLen(t, l)-before)
			}
		})
	}
}

// next --owner keeps the ready tasks one actor owns.
func TestNext_ByOwner(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-020", Title: "codex's", Owner: "codex"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-021", Title: "omar's", Owner: "omar"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-022", Title: "codex's, blocked by 001", Owner: "codex"}))
	if err := l.AddDependency(as("alice"), "OPS-FIX-022", "OPS-FIX-001"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		owner string
		want  []string
	}{{"codex", []string{"OPS-FIX-020"}}, {"omar", []string{"OPS-FIX-021"}}, {"ci", nil}} {
		got := must(l.Next(as("codex"), fairway.NextFilter{Owner: c.owner}))
		var keys []string
		for _, task := range got {
			keys = append(keys, task.Key)
		}
		if len(keys) != len(c.want) || (len(keys) > 0 && keys[0] != c.want[0]) {
			t.Errorf("next --owner %s = %v, want %v", c.owner, keys, c.want)
		}
	}
}
