package ledger_test

import (
	"strings"
	"testing"

	"fairway"
)

// TestGate_ChangeRequestOfAnotherDomainBlocks: a change request blocks
// the gate until it is resolved (R2, R3), whichever domain made it.
// Before, only the domains the policy required of the task were read, so
// a security member's change request on a task that needs only an ops
// review was dropped from the gate, and the task closed over it.
func TestGate_ChangeRequestOfAnotherDomainBlocks(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: "sergei", Kind: fairway.KindHuman}))
	const key = "OPS-FIX-001" // needs one ops review, which omar gave
	cr := must(l.AddReview(as("sergei"), fairway.ReviewAdd{Task: key, Domain: "security", Verdict: fairway.VerdictChangesRequested,
		Items: []string{"show the threat model"}}))
	r := requirementOf(t, l, key, "review:security")
	if r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Detail, "show the threat model") || !strings.Contains(r.Remedy, "fairway review resolve "+key+" --domain security") {
		t.Fatalf("an open security change request: got %s %q remedy %q, want unsatisfied naming it and how to resolve it", r.State, r.Detail, r.Remedy)
	}
	if _, err := l.CloseTask(as("alice"), key); fairway.ErrorCode(err) != fairway.EGATEFAILED {
		t.Fatalf("close over an open change request of another domain: got %v, want %s", err, fairway.EGATEFAILED)
	}
	must(l.AddReview(as("sergei"), fairway.ReviewAdd{Task: key, Domain: "security", Verdict: fairway.VerdictResolved, Resolves: cr.ID}))
	d := must(l.ExplainGate(as("alice"), key))
	for _, req := range d.Requirements {
		if req.ID == "review:security" {
			t.Fatalf("a resolved change request of a domain the task does not need still shows: %+v", req)
		}
	}
	must(l.CloseTask(as("alice"), key))
}
