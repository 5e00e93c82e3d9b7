package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/ledger"
)

func requirementOf(t *testing.T, l *ledger.Ledger, task, id string) fairway.Requirement {
	t.Helper()
	d, err := l.ExplainGate(context.Background(), task)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Requirements {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("gate of %s has no requirement %s: %+v", task, id, d.Requirements)
	return fairway.Requirement{}
}

// TestWaiver_LaneWaiverCountsOnlyWhereItsApproverIsIndependent: a lane's
// waiver is approved before anyone can judge which of the lane's tasks
// it will lift, so it lifts a requirement of a task only when its
// approver is independent of that task (R2). Before, the owner of a task
// approved a lane waiver and so lifted his own task's dependency.
func TestWaiver_LaneWaiverCountsOnlyWhereItsApproverIsIndependent(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: "olivia", Kind: fairway.KindHuman}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-011", Lane: "closeout", Title: "the blocker"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-010", Lane: "closeout", Title: "omar's own", Owner: "omar"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-012", Lane: "closeout", Title: "someone else's"}))
	for _, k := range []string{"OPS-FIX-010", "OPS-FIX-012"} {
		if err := l.AddDependency(as("alice"), k, "OPS-FIX-011"); err != nil {
			t.Fatal(err)
		}
	}
	expires := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	dep := must(l.RequestWaiver(as("olivia"), fairway.WaiverRequest{Lane: "closeout", Requirement: "dependency:OPS-FIX-011", Reason: "tracked apart", ExpiresAt: expires}))
	must(l.ApproveWaiver(as("omar"), dep.ID))

	r := requirementOf(t, l, "OPS-FIX-010", "dependency:OPS-FIX-011")
	want := fmt.Sprintf("OPS-FIX-011 is open; waiver %d of lane closeout does not count here: its approver omar is not independent of OPS-FIX-010 (owns the task)", dep.ID)
	if r.State != fairway.ReqUnsatisfied || r.Detail != want {
		t.Fatalf("omar's own task, lifted by his lane waiver:\n got %s %q\nwant %s %q", r.State, r.Detail, fairway.ReqUnsatisfied, want)
	}
	if r := requirementOf(t, l, "OPS-FIX-012", "dependency:OPS-FIX-011"); r.State != fairway.ReqWaived {
		t.Fatalf("a task omar is independent of: got %s %q, want the lane waiver to lift it", r.State, r.Detail)
	}

	// Closing is judged the same way.
	if _, err := l.CloseTask(as("alice"), "OPS-FIX-010"); fairway.ErrorCode(err) != fairway.EGATEFAILED {
		t.Fatalf("closing OPS-FIX-010 on omar's lane waiver: %v, want the gate to refuse", err)
	}
}

// TestWaiver_ApproverWhoLaterJoinsTheWorkNoLongerCounts: a task's waiver
// approved by an independent member stops counting once that member
// records the task's evidence, as an approval does.
func TestWaiver_ApproverWhoLaterJoinsTheWorkNoLongerCounts(t *testing.T) {
	l := MustOpenLedger(t)
	f := setUp(t, l, true)
	must(l.ApproveWaiver(as("omar"), f.waiver))
	if r := requirementOf(t, l, "OPS-FIX-002", "dependency:OPS-FIX-001"); r.State != fairway.ReqWaived {
		t.Fatalf("before: got %s %q, want waived", r.State, r.Detail)
	}
	must(l.AddEvidence(as("omar"), fairway.EvidenceAdd{Task: "OPS-FIX-002", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("did it myself\n")}))
	r := requirementOf(t, l, "OPS-FIX-002", "dependency:OPS-FIX-001")
	want := fmt.Sprintf("waiver %d does not count: its approver omar is no longer independent of OPS-FIX-002 (recorded its evidence)", f.waiver)
	if r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Detail, want) {
		t.Fatalf("after: got %s %q, want unsatisfied with %q", r.State, r.Detail, want)
	}
}

// TestWaiver_ApprovalForAnMFADomainNeedsMFA: a waiver lifting a
// requirement whose waivers belong to a domain that asks for MFA is
// approved with MFA, as a review for that domain is (R6). Before, a
// security member lifted the RTE export prerequisite from a plain token.
func TestWaiver_ApprovalForAnMFADomainNeedsMFA(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: "sana", Kind: fairway.KindHuman}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-050", Title: "exposure", Labels: []string{"service-exposure"}}))
	w := must(l.RequestWaiver(as("alice"), fairway.WaiverRequest{Task: "OPS-FIX-050", Requirement: "prerequisite:rte-exports", Reason: "later", ExpiresAt: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}))
	if w.Domain != "security" {
		t.Fatalf("waiver domain %q, want security", w.Domain)
	}
	_, err := l.ApproveWaiver(as("sana"), w.ID)
	if fairway.ErrorCode(err) != fairway.ESTEPUP || !strings.Contains(err.Error(), "needs MFA asserted by the identity provider") {
		t.Fatalf("approving without MFA: %v, want a step-up", err)
	}
	if r := requirementOf(t, l, "OPS-FIX-050", "prerequisite:rte-exports"); r.State != fairway.ReqUnsatisfied {
		t.Fatalf("after the refused approval: %s %q", r.State, r.Detail)
	}
	withMFA := fairway.NewContextWithAuth(as("sana"), &fairway.Auth{MFA: &fairway.MFAPosture{MFA: true, AMR: []string{"pwd", "otp"}, Source: "oidc"}})
	must(l.ApproveWaiver(withMFA, w.ID))
	if r := requirementOf(t, l, "OPS-FIX-050", "prerequisite:rte-exports"); r.State != fairway.ReqWaived {
		t.Fatalf("approved with MFA: %s %q, want waived", r.State, r.Detail)
	}
}

// TestWaiver_LaneWaiverCountsOnlyForItsDomain: a lane's waiver request
// goes to the policy's waiver domain; a surface whose evidence is waived
// by another domain keeps it until that domain approves. Before, ops
// lifted a security surface's evidence for every task of a lane.
func TestWaiver_LaneWaiverCountsOnlyForItsDomain(t *testing.T) {
	l := MustOpenLedger(t)
	must(l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}))
	for _, a := range []string{"olivia", "sana"} {
		must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: a, Kind: fairway.KindHuman}))
	}
	must(l.BootstrapPolicy(as("alice"), "governance.yaml", []byte(`version: 1
owners: [ops]
review_domains:
  ops:
    members: [olivia]
  security:
    members: [sana]
surfaces:
  vault:
    review_domains: [security]
    evidence: [drill]
    waiver_domain: security
waivers:
  domain: ops
`)))
	must(l.CreateLane(as("alice"), fairway.LaneCreate{Name: "keys"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "KEY-1", Lane: "keys", Title: "rotate", Scope: fairway.Scope{Surfaces: []string{"vault"}}}))
	w := must(l.RequestWaiver(as("alice"), fairway.WaiverRequest{Lane: "keys", Requirement: "evidence:drill", Reason: "drills later", ExpiresAt: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}))
	if w.Domain != "ops" {
		t.Fatalf("lane waiver domain %q, want the policy's ops", w.Domain)
	}
	must(l.ApproveWaiver(as("olivia"), w.ID))
	r := requirementOf(t, l, "KEY-1", "evidence:drill")
	note := fmt.Sprintf("waiver %d of lane keys does not count here: it was approved for ops, and evidence:drill is waived by security", w.ID)
	if r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Detail, note) {
		t.Fatalf("a security surface's evidence under an ops lane waiver: got %s %q, want unsatisfied with %q", r.State, r.Detail, note)
	}
}

// TestWaiver_LiftingARequirementOfAnMFASurfaceNeedsMFA: a surface that
// asks MFA of its domains' approvals (edge) makes approving for ops on
// that task sensitive, so lifting one of its requirements is too (R6).
// Before, only a domain that always asks MFA made a waiver ask it: ops
// lifted the edge surface's diff evidence without MFA, though its own
// approval of the task needed it. Where the task asks none, none is
// asked.
func TestWaiver_LiftingARequirementOfAnMFASurfaceNeedsMFA(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-EDGE-1", Title: "rotate the tunnel", Scope: fairway.Scope{Surfaces: []string{"edge"}}}))
	w := must(l.RequestWaiver(as("codex"), fairway.WaiverRequest{Task: "OPS-EDGE-1", Requirement: "evidence:diff", Reason: "the diff is in the PR",
		ExpiresAt: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}))
	_, err := l.ApproveWaiver(as("omar"), w.ID)
	if fairway.ErrorCode(err) != fairway.ESTEPUP || !strings.Contains(err.Error(), "needs MFA") {
		t.Fatalf("lifting an edge requirement without MFA: got %v, want a step-up", err)
	}
	if r := requirementOf(t, l, "OPS-EDGE-1", "evidence:diff"); r.State != fairway.ReqUnsatisfied {
		t.Fatalf("after the refused approval: %s %q, want unsatisfied", r.State, r.Detail)
	}
	must(l.ApproveWaiver(withMFA("omar"), w.ID))
	if r := requirementOf(t, l, "OPS-EDGE-1", "evidence:diff"); r.State != fairway.ReqWaived {
		t.Fatalf("after an approval with MFA: %s %q, want waived", r.State, r.Detail)
	}
}

// TestWaiver_LaneWaiverDoesNotLiftAnMFASurfacesRequirement: a lane's
// waiver is approved before its tasks are known, so its approval asks
// MFA only where its domain always does. It lifts a requirement of a
// task where approving for its domain needs MFA (an edge surface) only
// when that approval had to carry it; otherwise the gate says why not,
// and a waiver of the task itself, approved with MFA, is the way.
func TestWaiver_LaneWaiverDoesNotLiftAnMFASurfacesRequirement(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: "olivia", Kind: fairway.KindHuman}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-060", Lane: "closeout", Title: "rotate the tunnel", Scope: fairway.Scope{Surfaces: []string{"edge"}}}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-061", Lane: "closeout", Title: "runner inventory", Scope: fairway.Scope{Surfaces: []string{"ci-runners"}}}))
	expires := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	for _, kind := range []string{"diff", "export"} {
		w := must(l.RequestWaiver(as("codex"), fairway.WaiverRequest{Lane: "closeout", Requirement: "evidence:" + kind, Reason: "tracked in the PRs", ExpiresAt: expires}))
		must(l.ApproveWaiver(as("olivia"), w.ID))
	}
	r := requirementOf(t, l, "OPS-FIX-060", "evidence:diff")
	if r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Detail, "approving for ops on OPS-FIX-060 needs MFA") {
		t.Fatalf("an edge requirement under a lane waiver approved without MFA: got %s %q, want unsatisfied saying why", r.State, r.Detail)
	}
	if r := requirementOf(t, l, "OPS-FIX-061", "evidence:export"); r.State != fairway.ReqWaived {
		t.Fatalf("a requirement of a task that asks no MFA: got %s %q, want the lane waiver to lift it", r.State, r.Detail)
	}
}
