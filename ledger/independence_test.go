package ledger_test

import (
	"strings"
	"testing"

	"fairway"
)

// TestIndependence_WhoEverAskedForTheWorkCannotApproveIt: a human who
// assigned a task to an agent asked for the work (R2), and stays so
// when the owner is later cleared and the agent takes the task itself,
// which makes the agent the task's last assigner. Before, omar assigned
// the task to codex, cleared the owner, let codex take it, and approved
// the work as an independent reviewer.
func TestIndependence_WhoEverAskedForTheWorkCannotApproveIt(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-020", Title: "work for an agent", ReviewDomains: []string{"ops"}}))
	must(l.UpdateTask(as("omar"), "OPS-FIX-020", fairway.TaskUpdate{Owner: ptr("codex")}))
	must(l.UpdateTask(as("omar"), "OPS-FIX-020", fairway.TaskUpdate{Owner: ptr("")}))
	task := must(l.TakeTask(as("codex"), "OPS-FIX-020"))
	if task.Owner != "codex" || task.AssignedBy != "codex" {
		t.Fatalf("after the take: owner %q assigned by %q", task.Owner, task.AssignedBy)
	}
	_, err := l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-FIX-020", Domain: "ops", Verdict: fairway.VerdictApproved})
	if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "omar is not independent of OPS-FIX-020") || !strings.Contains(err.Error(), "asked for the work") {
		t.Fatalf("omar approving the work he asked an agent to do: %v, want forbidden: not independent, asked for the work", err)
	}
	// A waiver and a narrowing judge the same history.
	w := must(l.RequestWaiver(as("alice"), fairway.WaiverRequest{Task: "OPS-FIX-002", Requirement: "dependency:OPS-FIX-001", Reason: "again", ExpiresAt: must(l.GetTask(as("alice"), "OPS-FIX-002")).CreatedAt.AddDate(0, 0, 1)}))
	must(l.UpdateTask(as("omar"), "OPS-FIX-002", fairway.TaskUpdate{Owner: ptr("codex")}))
	must(l.UpdateTask(as("alice"), "OPS-FIX-002", fairway.TaskUpdate{Owner: ptr("")}))
	if _, err := l.ApproveWaiver(as("omar"), w.ID); fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "asked for the work") {
		t.Fatalf("omar approving a waiver of the work he asked for: %v, want forbidden", err)
	}
}

// TestIndependence_OnlyTheRequesterOrAnIndependentMemberResolves: a
// change request blocks until its reviewer, or another member of the
// domain who is independent of the task, resolves it (R2). Before, the
// task's owner, being a member of the domain, resolved the request made
// of his own work.
func TestIndependence_OnlyTheRequesterOrAnIndependentMemberResolves(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: "olivia", Kind: fairway.KindHuman}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-040", Title: "omar's work", Owner: "omar", ReviewDomains: []string{"ops"}}))
	req := must(l.AddReview(as("olivia"), fairway.ReviewAdd{Task: "OPS-FIX-040", Domain: "ops", Verdict: fairway.VerdictChangesRequested, Items: []string{"attach the diff"}}))
	_, err := l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-FIX-040", Domain: "ops", Verdict: fairway.VerdictResolved})
	if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "omar is not independent of OPS-FIX-040") {
		t.Fatalf("the owner resolving the change request on his own work: %v, want forbidden: not independent", err)
	}
	if r := requirementOf(t, l, "OPS-FIX-040", "review:ops"); !strings.Contains(r.Detail, "open change requests") {
		t.Fatalf("after the refused resolution: %q, want the request still open", r.Detail)
	}
	// The reviewer who asked resolves it.
	res := must(l.AddReview(as("olivia"), fairway.ReviewAdd{Task: "OPS-FIX-040", Domain: "ops", Verdict: fairway.VerdictResolved}))
	if res.Resolves != req.ID {
		t.Fatalf("olivia resolved %d, want %d", res.Resolves, req.ID)
	}
}
