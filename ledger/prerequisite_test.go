package ledger_test

import (
	"strings"
	"testing"

	"fairway"
)

// TestPrerequisite_EvidenceOnAnotherTaskCountsOnceApproved: a
// prerequisite's alternative on another task ("an approved alternate
// profile") is judged by no approval of the gated task, whose snapshot
// does not bind it. Before, an agent recorded alternate-profile evidence
// on the capacity task and so lifted the capacity prerequisite of every
// kind UAT and dev deploy. It now counts once an independent member of
// the prerequisite's domain approved that task as it stands, and stops
// counting when newer evidence makes that approval stale.
func TestPrerequisite_EvidenceOnAnotherTaskCountsOnceApproved(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	const capacity, uat, id = "OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001", "OPS-FIX-030", "prerequisite:kind-compute-capacity"
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: capacity, Title: "capacity"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: uat, Title: "kind UAT", Labels: []string{"kind-uat"}}))
	profile := func(body string) *fairway.Evidence {
		return must(l.AddEvidence(as("codex"), fairway.EvidenceAdd{Task: capacity, Kind: "alternate-profile"}, fairway.EvidenceParts{Content: strings.NewReader(body)}))
	}
	first := profile("profile: small\n")
	r := requirementOf(t, l, uat, id)
	if r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Remedy, "an independent member of ops approves alternate-profile evidence "+first.ID+" on "+capacity+" as it now stands") {
		t.Fatalf("an agent's alternate profile alone: got %s %q remedy %q, want unsatisfied awaiting an ops approval", r.State, r.Detail, r.Remedy)
	}
	must(l.AddReview(as("omar"), fairway.ReviewAdd{Task: capacity, Domain: "ops", Verdict: fairway.VerdictApproved}))
	r = requirementOf(t, l, uat, id)
	if want := "satisfied by approved alternate profile: alternate-profile evidence " + first.ID + " on " + capacity + ", approved by omar for ops"; r.State != fairway.ReqSatisfied || r.Detail != want {
		t.Fatalf("approved by omar: got %s %q, want satisfied %q", r.State, r.Detail, want)
	}
	// A newer profile is not what omar approved.
	profile("profile: tiny\n")
	if r := requirementOf(t, l, uat, id); r.State != fairway.ReqUnsatisfied {
		t.Fatalf("a newer, unapproved profile: got %s %q, want unsatisfied", r.State, r.Detail)
	}
}

// TestPrerequisite_EvidenceAddedToADoneTaskIsNotJudgedByItsGate:
// evidence on another task counts when that task is done, since its own
// gate judged it. Before, evidence recorded on the task after it closed
// counted the same way: an agent recorded a new export on the finished
// export task, which no gate or review ever saw, and it became the
// proof of the export prerequisite of every service exposure task.
func TestPrerequisite_EvidenceAddedToADoneTaskIsNotJudgedByItsGate(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	const exports, exposure, id = "OPS-RTE-EXPORTS-001", "OPS-FIX-040", "prerequisite:rte-exports"
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: exports, Title: "exports"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: exposure, Title: "exposure", Labels: []string{"service-exposure"}}))
	export := func(body string) *fairway.Evidence {
		return must(l.AddEvidence(as("codex"), fairway.EvidenceAdd{Task: exports, Kind: "export"}, fairway.EvidenceParts{Content: strings.NewReader(body)}))
	}
	judged := export("exports: boundary, segmentation\n")
	must(l.AddReview(as("omar"), fairway.ReviewAdd{Task: exports, Domain: "ops", Verdict: fairway.VerdictApproved}))
	must(l.CloseTask(as("alice"), exports))
	r := requirementOf(t, l, exposure, id)
	if want := "satisfied by export evidence " + judged.ID + " on " + exports + ", which passed its own gate"; r.State != fairway.ReqSatisfied || r.Detail != want {
		t.Fatalf("the export its task closed with: got %s %q, want satisfied %q", r.State, r.Detail, want)
	}
	late := export("exports: everything, trust me\n")
	r = requirementOf(t, l, exposure, id)
	if r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Remedy, late.ID+" was recorded on "+exports+" after it was done") {
		t.Fatalf("an export recorded after its task closed: got %s %q remedy %q, want unsatisfied saying no gate judged it", r.State, r.Detail, r.Remedy)
	}
}
