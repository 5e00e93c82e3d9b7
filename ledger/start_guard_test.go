package ledger_test

import (
	"context"
	"strings"
	"testing"

	"fairway"
)

// TestUpdate_StartedTaskBecomingProtectedNeedsItsControls: a task already
// in progress (or in review) that an update makes a mutating change of a
// protected class would run its mutating steps without the approvals and
// rollback criteria R5 asks for before they start. Such an update is
// refused unless those controls are met, naming them and the way back
// (move it to open, change it, start it again once they are met); the
// honest path through open still works, and other edits of started
// protected work are untouched.
func TestUpdate_StartedTaskBecomingProtectedNeedsItsControls(t *testing.T) {
	p := newProofLedger(t, protectedPolicy+"waivers:\n  domain: ops\n")
	olivia := fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "olivia"})
	yes := true
	create := func(c fairway.TaskCreate) {
		t.Helper()
		if _, err := p.l.CreateTask(p.alice, c); err != nil {
			t.Fatal(err)
		}
		p.add(t, c.Key, fairway.EvidenceAdd{Kind: "rollback-plan", Filename: "rollback.md"}, "Restore tunnel config v41.\n")
		if _, err := p.l.AddReview(olivia, fairway.ReviewAdd{Task: c.Key, Domain: "ops", Verdict: fairway.VerdictApproved}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.l.TakeTask(p.codex, c.Key); err != nil {
			t.Fatal(err)
		}
	}
	// Touches a protected class, not mutating: starts without the check.
	create(fairway.TaskCreate{Key: "EDGE-A", Title: "Plan the tunnel move", Scope: fairway.Scope{ChangeClasses: []string{"edge-dns"}}})
	// Mutating, no protected class: starts without the check.
	create(fairway.TaskCreate{Key: "EDGE-B", Title: "Tune the tunnel", Mutating: true})
	if _, err := p.l.TransitionTask(p.codex, "EDGE-B", fairway.Transition{Status: fairway.StatusInReview}); err != nil {
		t.Fatal(err)
	}

	refused := []struct {
		name, key string
		u         fairway.TaskUpdate
	}{
		{"in progress, made mutating", "EDGE-A", fairway.TaskUpdate{Mutating: &yes}},
		{"in review, gains a protected class", "EDGE-B", fairway.TaskUpdate{AddScope: fairway.Scope{ChangeClasses: []string{"edge-dns"}}}},
		{"in review, scope replaced with a protected class", "EDGE-B", fairway.TaskUpdate{ReplaceScope: &fairway.Scope{Text: "move it", ChangeClasses: []string{"edge-dns"}}}},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			before, err := p.l.GetTask(context.Background(), c.key)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.l.UpdateTask(p.alice, c.key, c.u)
			if fairway.ErrorCode(err) != fairway.EGATEFAILED {
				t.Fatalf("update: %v, want %s", err, fairway.EGATEFAILED)
			}
			msg := fairway.ErrorMessage(err)
			for _, want := range []string{"review:ops", "protected change class edge-dns", "R5", "`fairway task move " + c.key + " open`", "`fairway gate explain " + c.key + "`"} {
				if !strings.Contains(msg, want) {
					t.Errorf("refusal %q does not name %q", msg, want)
				}
			}
			after, err := p.l.GetTask(context.Background(), c.key)
			if err != nil {
				t.Fatal(err)
			}
			if after.Mutating != before.Mutating || len(after.Scope.ChangeClasses) != len(before.Scope.ChangeClasses) || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Fatalf("a refused update changed the task: %+v", after)
			}
		})
	}

	// A narrowing that also adds a protected class is held to the same.
	if _, err := p.l.CreateTask(p.alice, fairway.TaskCreate{Key: "EDGE-PRE", Title: "before the tunnel"}); err != nil {
		t.Fatal(err)
	}
	create(fairway.TaskCreate{Key: "EDGE-C", Title: "Tune the tunnel again", Mutating: true})
	if err := p.l.AddDependency(p.alice, "EDGE-C", "EDGE-PRE"); err != nil {
		t.Fatal(err)
	}
	n, err := p.l.ProposeNarrowing(p.alice, "EDGE-C", fairway.TaskUpdate{RemoveBlockers: []string{"EDGE-PRE"}, AddScope: fairway.Scope{ChangeClasses: []string{"edge-dns"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.l.ApproveNarrowing(olivia, n.ID); fairway.ErrorCode(err) != fairway.EGATEFAILED || !strings.Contains(fairway.ErrorMessage(err), "review:ops") {
		t.Fatalf("narrowing that adds a protected class to started work: %v, want %s naming review:ops", err, fairway.EGATEFAILED)
	}
	if c, err := p.l.GetTask(context.Background(), "EDGE-C"); err != nil || len(c.Scope.ChangeClasses) != 0 {
		t.Fatalf("after the refused narrowing: %+v %v", c, err)
	}

	// The way back: to open, change it, approve it as it now stands, start.
	if _, err := p.l.TransitionTask(p.codex, "EDGE-A", fairway.Transition{Status: fairway.StatusOpen}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.l.UpdateTask(p.alice, "EDGE-A", fairway.TaskUpdate{Mutating: &yes}); err != nil {
		t.Fatalf("making an open task mutating: %v", err)
	}
	if _, err := p.l.TakeTask(p.codex, "EDGE-A"); fairway.ErrorCode(err) != fairway.EGATEFAILED {
		t.Fatalf("take before the approval of the mutating change: %v, want %s", err, fairway.EGATEFAILED)
	}
	if _, err := p.l.AddReview(olivia, fairway.ReviewAdd{Task: "EDGE-A", Domain: "ops", Verdict: fairway.VerdictApproved}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.l.TakeTask(p.codex, "EDGE-A"); err != nil {
		t.Fatalf("take with the controls met: %v", err)
	}
	// Started protected work whose approval later went stale (new
	// evidence) still takes edits that add no protected class.
	p.add(t, "EDGE-A", fairway.EvidenceAdd{Kind: "log", Filename: "move.log"}, "moved\n")
	if _, err := p.l.UpdateTask(p.alice, "EDGE-A", fairway.TaskUpdate{AddLabels: []string{"edge"}, Mutating: &yes}); err != nil {
		t.Fatalf("an edit adding no protected class: %v", err)
	}
}
