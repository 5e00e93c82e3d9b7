package ledger_test

import (
	"strings"
	"testing"

	"fairway"
	"fairway/demo"
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

// TestReview_ApprovalOfTheSnapshotTheReviewerSaw: an approval binds the
// snapshot in force when it is written, which may not be the one its
// reviewer looked at: an agent that records evidence (or retitles the
// task) between the reviewer's look and the click had its change
// approved unseen. A review that names the snapshot it judged is refused
// when the task moved on since, saying what to do, and the refusal is
// audited; one that names the current snapshot is recorded.
func TestReview_ApprovalOfTheSnapshotTheReviewerSaw(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	const key = "OPS-FIX-002"
	seen := must(l.ExplainGate(as("omar"), key)).SnapshotDigest
	must(l.AddEvidence(as("codex"), fairway.EvidenceAdd{Task: key, Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("slipped in\n")}))
	_, err := l.AddReview(as("omar"), fairway.ReviewAdd{Task: key, Domain: "ops", Verdict: fairway.VerdictApproved, Snapshot: seen})
	if fairway.ErrorCode(err) != fairway.ECONFLICT || !strings.Contains(err.Error(), "changed since") || !strings.Contains(err.Error(), "fairway gate explain "+key) {
		t.Fatalf("approving a snapshot the task has left: got %v, want a conflict saying it changed and how to look again", err)
	}
	if reviews := must(l.ListReviews(as("omar"), key)); len(reviews) != 0 {
		t.Fatalf("a refused approval was recorded: %+v", reviews)
	}
	events := must(l.AuditLog(as("omar"), fairway.AuditFilter{Subject: key}))
	if last := events[len(events)-1]; last.Action != "review.approved.refused" {
		t.Fatalf("the refusal is not audited: last event %s", last.Action)
	}
	if _, err := l.AddReview(as("omar"), fairway.ReviewAdd{Task: key, Domain: "ops", Verdict: fairway.VerdictApproved, Snapshot: "sha256:nothex"}); fairway.ErrorCode(err) != fairway.EINVALID {
		t.Fatalf("a malformed snapshot: got %v, want invalid", err)
	}
	now := must(l.ExplainGate(as("omar"), key)).SnapshotDigest
	rv := must(l.AddReview(as("omar"), fairway.ReviewAdd{Task: key, Domain: "ops", Verdict: fairway.VerdictApproved, Snapshot: now}))
	if rv.Snapshot != now {
		t.Fatalf("approval bound to %s, want the snapshot it named %s", rv.Snapshot, now)
	}
}

// TestPolicy_ProposerDoesNotApproveTheirOwnPolicyChange: who proposes a
// policy change wrote the work a policy owner judges (R2, R13). Before,
// an owner proposed a change on a task someone else had created and
// approved it as one of the owners, so one person's approval of their
// own change counted (alone, where the owners ask one approval). Being
// replaced by another proposal does not make them independent again.
func TestPolicy_ProposerDoesNotApproveTheirOwnPolicyChange(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	for _, name := range []string{"olivia", "sana"} {
		must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: name, Kind: fairway.KindHuman}))
	}
	const key = "GOV-1"
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: key, Title: "shorter waivers"}))
	mine := strings.Replace(string(demo.Policy), "max_days: 30", "max_days: 14", 1)
	must(l.ProposePolicy(as("sana"), key, "governance.yaml", []byte(mine)))
	_, err := l.AddReview(as("sana"), fairway.ReviewAdd{Task: key, Domain: "governance", Verdict: fairway.VerdictApproved})
	if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "proposed its policy change") {
		t.Fatalf("the proposer approving their own policy change: got %v, want forbidden saying they proposed it", err)
	}
	// olivia proposes her own edit instead; sana wrote the first.
	theirs := strings.Replace(string(demo.Policy), "max_days: 30", "max_days: 21", 1)
	must(l.ProposePolicy(as("olivia"), key, "governance.yaml", []byte(theirs)))
	for _, who := range []string{"sana", "olivia"} {
		if _, err := l.AddReview(as(who), fairway.ReviewAdd{Task: key, Domain: "governance", Verdict: fairway.VerdictApproved}); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
			t.Fatalf("%s, who proposed a change on %s, approving it: got %v, want forbidden", who, key, err)
		}
	}
}
