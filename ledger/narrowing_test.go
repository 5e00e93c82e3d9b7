package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/demo"
	"fairway/ledger"
)

func unsatisfied(t *testing.T, l *ledger.Ledger, key string) []string {
	t.Helper()
	d := must(l.ExplainGate(context.Background(), key))
	var out []string
	for _, r := range d.Requirements {
		if r.State == fairway.ReqUnsatisfied {
			out = append(out, r.ID)
		}
	}
	return out
}

// demoLedger is a ledger holding the demo scenario, which is dated from
// the real clock.
func demoLedger(t *testing.T) *ledger.Ledger {
	l := MustOpenLedger(t)
	l.Now = time.Now
	if err := demo.Load(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return l
}

func withMFA(name string) context.Context {
	return fairway.NewContextWithAuth(as(name), &fairway.Auth{MFA: &fairway.MFAPosture{MFA: true, Source: "test"}})
}

// Rewording a scope or adding to it never drops what the gate requires;
// a change that does is refused, naming what it removes, and audited.
func TestNarrowing_OrdinaryEditsCannotDropRequirements(t *testing.T) {
	l := demoLedger(t)
	const key = "OPS-EDGE-TUNNEL-001"
	before := unsatisfied(t, l, key)
	if len(before) == 0 {
		t.Fatal("the demo's edge task should have unsatisfied requirements")
	}
	task := must(l.GetTask(context.Background(), key))

	// The attacks of the last run: reworded text, an added surface.
	must(l.UpdateTask(as("sana"), key, fairway.TaskUpdate{ScopeText: ptr("Rotate the tunnel, reworded")}))
	must(l.UpdateTask(as("sana"), key, fairway.TaskUpdate{AddScope: fairway.Scope{Surfaces: []string{"db"}}}))
	after := must(l.GetTask(context.Background(), key))
	if got := strings.Join(after.Scope.ChangeClasses, ","); got != strings.Join(task.Scope.ChangeClasses, ",") {
		t.Fatalf("change classes after a text edit and an added surface: %q, want %q", got, strings.Join(task.Scope.ChangeClasses, ","))
	}
	if got := unsatisfied(t, l, key); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Fatalf("unsatisfied after ordinary edits = %v, want %v", got, before)
	}

	// Edits that remove requirements, each refused whole.
	seq := auditLen(t, l)
	for _, c := range []struct {
		name, key string
		u         fairway.TaskUpdate
	}{
		{"replace scope", key, fairway.TaskUpdate{ReplaceScope: &fairway.Scope{Text: "Rotate the tunnel"}}},
		{"drop surface", key, fairway.TaskUpdate{RemoveScope: fairway.Scope{Surfaces: []string{"edge"}}}},
		{"drop change class", key, fairway.TaskUpdate{RemoveScope: fairway.Scope{ChangeClasses: []string{"edge-dns"}}}},
		// a rule asks high-risk mutating work for a rollback plan
		{"lower risk", "OPS-UAT-DEV-DEPLOY-001", fairway.TaskUpdate{Risk: ptr(fairway.RiskLow)}},
	} {
		_, err := l.UpdateTask(as("sana"), c.key, c.u)
		if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "this change narrows the gate of "+c.key) {
			t.Errorf("%s: %v, want a narrowing refusal", c.name, err)
		}
	}
	if got := must(l.GetTask(context.Background(), key)); got.UpdatedAt != after.UpdatedAt {
		t.Fatal("a refused narrowing changed the task")
	}
	events := must(l.AuditLog(context.Background(), fairway.AuditFilter{Limit: 10000}))
	if len(events)-seq < 3 {
		t.Fatalf("narrowing refusals audited: %d events", len(events)-seq)
	}
	last := events[len(events)-1]
	if last.Action != "task.update.refused" || !strings.Contains(string(last.Change), `"removes"`) {
		t.Fatalf("last event = %s %s, want a refusal listing what it removes", last.Action, last.Change)
	}
}

// A narrowing takes effect only once a member of every losing domain, not
// its proposer and independent of the task, approved it.
func TestNarrowing_NeedsEveryLosingDomain(t *testing.T) {
	l := demoLedger(t)
	const key = "OPS-EDGE-TUNNEL-001"
	drop := fairway.TaskUpdate{RemoveScope: fairway.Scope{Surfaces: []string{"edge"}, ChangeClasses: []string{"edge-dns"}}}
	if _, err := l.ProposeNarrowing(as("codex-1"), key, drop); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("an agent proposing a narrowing: %v", err)
	}
	if _, err := l.ProposeNarrowing(as("sana"), key, fairway.TaskUpdate{ScopeText: ptr("x")}); fairway.ErrorCode(err) != fairway.ECONFLICT {
		t.Fatalf("a narrowing that removes nothing: %v, want conflict", err)
	}
	n := must(l.ProposeNarrowing(as("priya"), key, drop))
	if n.State != fairway.NarrowingPending || strings.Join(n.Domains(), ",") != "ops,security" {
		t.Fatalf("proposed = %+v, want pending on ops and security", n)
	}
	refusals := []struct {
		who  context.Context
		code string
		msg  string
	}{
		{withMFA("priya"), fairway.EFORBIDDEN, "priya proposed narrowing"},
		{withMFA("omar"), fairway.EFORBIDDEN, "omar is not independent"}, // owns the task
		{withMFA("grace"), fairway.EFORBIDDEN, "a member of none of them"},
		{withSession(l, "olivia"), fairway.EFORBIDDEN, "not with a session credential"},
		{as("codex-1"), fairway.EFORBIDDEN, "only a human"},
	}
	for _, r := range refusals {
		_, err := l.ApproveNarrowing(r.who, n.ID)
		if fairway.ErrorCode(err) != r.code || !strings.Contains(err.Error(), r.msg) {
			t.Errorf("approve by %v: %v, want %s %q", fairway.ActorFromContext(r.who).Name, err, r.code, r.msg)
		}
	}
	// security asks for MFA.
	if _, err := l.ApproveNarrowing(as("sergei"), n.ID); fairway.ErrorCode(err) != fairway.ESTEPUP {
		t.Fatalf("approval without MFA for security: %v, want step-up", err)
	}
	got := must(l.ApproveNarrowing(withMFA("sergei"), n.ID))
	if got.State != fairway.NarrowingPending || strings.Join(got.Pending(), ",") != "ops" {
		t.Fatalf("after security = %+v, want pending on ops", got)
	}
	if task := must(l.GetTask(context.Background(), key)); len(task.Scope.Surfaces) == 0 {
		t.Fatal("the narrowing applied before every domain approved")
	}
	// The edge surface asked ops's review for MFA: taking that off needs
	// MFA too.
	if _, err := l.ApproveNarrowing(as("olivia"), n.ID); fairway.ErrorCode(err) != fairway.ESTEPUP {
		t.Fatalf("removing an MFA requirement without MFA: %v, want step-up", err)
	}
	got = must(l.ApproveNarrowing(withMFA("olivia"), n.ID))
	if got.State != fairway.NarrowingApplied {
		t.Fatalf("after ops = %+v, want applied", got)
	}
	task := must(l.GetTask(context.Background(), key))
	if len(task.Scope.Surfaces) != 0 || len(task.Scope.ChangeClasses) != 0 {
		t.Fatalf("scope after the narrowing = %+v", task.Scope)
	}
	if _, err := l.ApproveNarrowing(withMFA("sana"), n.ID); fairway.ErrorCode(err) != fairway.ECONFLICT {
		t.Fatalf("approving an applied narrowing: %v", err)
	}
	if v := must(l.VerifyAudit(context.Background())); !v.OK {
		t.Fatalf("audit = %+v", v)
	}
}

// A narrowing judged against one version of a task does not apply to
// another.
func TestNarrowing_StaleWhenTheTaskChanged(t *testing.T) {
	l := demoLedger(t)
	const key = "OPS-EDGE-TUNNEL-001"
	n := must(l.ProposeNarrowing(as("priya"), key, fairway.TaskUpdate{RemoveScope: fairway.Scope{Surfaces: []string{"edge"}}}))
	must(l.UpdateTask(as("sana"), key, fairway.TaskUpdate{ScopeText: ptr("changed meanwhile")}))
	if _, err := l.ApproveNarrowing(withMFA("sergei"), n.ID); fairway.ErrorCode(err) != fairway.ECONFLICT || !strings.Contains(err.Error(), "propose it again") {
		t.Fatalf("approving a stale narrowing: %v", err)
	}
}

// The task view shows a pending narrowing beside the gate it would
// change, from the same snapshot.
func TestTaskView_ShowsNarrowingsWaiversAndGate(t *testing.T) {
	l := demoLedger(t)
	const key = "OPS-EDGE-TUNNEL-001"
	n := must(l.ProposeNarrowing(as("priya"), key, fairway.TaskUpdate{RemoveScope: fairway.Scope{Surfaces: []string{"edge"}}}))
	v := must(l.TaskView(context.Background(), key))
	if v.Task.Key != key || len(v.Narrowings) != 1 || v.Narrowings[0].ID != n.ID || v.Gate == nil || v.Gate.Task != key {
		t.Fatalf("view = task %s, %d narrowings, gate %+v", v.Task.Key, len(v.Narrowings), v.Gate)
	}
	if len(v.Reviews) != 1 || len(v.Evidence) != 1 {
		t.Fatalf("view holds %d reviews and %d evidence, want sergei's change request and the rollback plan", len(v.Reviews), len(v.Evidence))
	}
	if _, err := l.TaskView(context.Background(), "NOPE-1"); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatalf("unknown task: %v", err)
	}
}

// A narrowing judged under one policy is not applied under another that
// makes the same edit remove more: the domain that would lose the new
// requirement never saw it.
func TestNarrowing_StaleWhenThePolicyChanged(t *testing.T) {
	l := demoLedger(t)
	const key = "OPS-RUNNER-INVENTORY-001" // surface ci-runners: ops review and export evidence
	n := must(l.ProposeNarrowing(as("priya"), key, fairway.TaskUpdate{RemoveScope: fairway.Scope{Surfaces: []string{"ci-runners"}}}))
	if strings.Join(n.Domains(), ",") != "ops" {
		t.Fatalf("domains = %v, want ops", n.Domains())
	}
	// The governed way to change the policy: ci-runners now also needs
	// security's review.
	changed := strings.Replace(string(demo.Policy), "  ci-runners:\n", "  ci-runners:\n    # security reviews runners too\n", 1)
	changed = strings.Replace(changed, "    review_domains: [ops]\n    evidence: [export]", "    review_domains: [ops, security]\n    evidence: [export]", 1)
	if changed == string(demo.Policy) {
		t.Fatal("the test's policy edit did not apply")
	}
	must(l.CreateTask(as("priya"), fairway.TaskCreate{Key: "GOV-9", Title: "security reviews runners"}))
	must(l.ProposePolicy(as("priya"), "GOV-9", "governance.yaml", []byte(changed)))
	must(l.AddReview(as("olivia"), fairway.ReviewAdd{Task: "GOV-9", Domain: "governance", Verdict: fairway.VerdictApproved}))
	must(l.AddReview(as("sana"), fairway.ReviewAdd{Task: "GOV-9", Domain: "governance", Verdict: fairway.VerdictApproved}))
	if d, err := l.CloseTask(as("olivia"), "GOV-9"); err != nil {
		t.Fatalf("closing the policy change: %v %+v", err, d)
	}
	_, err := l.ApproveNarrowing(as("omar"), n.ID)
	if fairway.ErrorCode(err) != fairway.ECONFLICT || !strings.Contains(err.Error(), "propose it again") {
		t.Fatalf("approving a narrowing the new policy widens: %v, want a conflict", err)
	}
}

// Dropping a dependency on an unfinished task removes a requirement of
// the gate: it is a narrowing, whether asked as `dep remove` or as a task
// update, and the waiver domain approves it.
func TestNarrowing_RemovingADependency(t *testing.T) {
	l := demoLedger(t)
	const key, blocker = "OPS-UAT-KIND-FULL-001", "OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001"
	err := l.RemoveDependency(as("grace"), key, blocker)
	if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "--remove-dep "+blocker+" --propose-narrowing") {
		t.Fatalf("dep remove on an open blocker: %v, want a narrowing refusal", err)
	}
	if _, err := l.UpdateTask(as("grace"), key, fairway.TaskUpdate{RemoveBlockers: []string{blocker}}); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("task update dropping the dependency: %v, want a narrowing refusal", err)
	}
	if deps := must(l.Dependencies(context.Background(), key)); len(deps.BlockedBy) != 1 {
		t.Fatalf("the dependency is gone after refusals: %+v", deps.BlockedBy)
	}
	n := must(l.ProposeNarrowing(as("grace"), key, fairway.TaskUpdate{RemoveBlockers: []string{blocker}}))
	if len(n.Removes) != 1 || n.Removes[0].Requirement != "dependency:"+blocker || n.Removes[0].Domain != "ops" {
		t.Fatalf("narrowing removes %+v, want the dependency, owned by ops", n.Removes)
	}
	must(l.ApproveNarrowing(as("omar"), n.ID))
	if deps := must(l.Dependencies(context.Background(), key)); len(deps.BlockedBy) != 0 {
		t.Fatalf("after the approved narrowing the task still waits on %+v", deps.BlockedBy)
	}
	if _, err := l.UpdateTask(as("grace"), key, fairway.TaskUpdate{RemoveBlockers: []string{"OPS-NOPE-001"}}); fairway.ErrorCode(err) != fairway.EINVALID {
		t.Fatalf("dropping a dependency the task does not have: %v", err)
	}
}

// A reviewer is independent of everyone's past with the task: whoever
// owned it before a reassignment, or claimed work on it, cannot approve.
func TestIndependence_FormerOwnersAndClaimants(t *testing.T) {
	l := demoLedger(t)
	const key = "OPS-RUNNER-INVENTORY-001"
	must(l.UpdateTask(as("olivia"), key, fairway.TaskUpdate{Owner: ptr("omar")}))
	must(l.UpdateTask(as("olivia"), key, fairway.TaskUpdate{Owner: ptr("codex-1")}))
	must(l.AddClaim(as("sergei"), fairway.ClaimAdd{Task: key, Text: "I checked the inventory"}))
	for _, c := range []struct{ who, domain, why string }{{"omar", "ops", "owned the task"}, {"sergei", "security", "claimed work on it"}} {
		_, err := l.AddReview(withMFA(c.who), fairway.ReviewAdd{Task: key, Domain: c.domain, Verdict: fairway.VerdictApproved})
		if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s approving: %v, want refused (%s)", c.who, err, c.why)
		}
	}
}

// Turning off the mutating flag of a protected-class task lifts the rule
// that it starts only with its controls in place (R5): a narrowing, never
// one edit.
func TestNarrowing_MutatingFlagOfAProtectedTask(t *testing.T) {
	l := demoLedger(t)
	const key = "OPS-RUNNER-SCALEOUT-001" // mutating, protected class runner (ops)
	_, err := l.UpdateTask(as("sana"), key, fairway.TaskUpdate{Mutating: ptr(false)})
	if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "start:runner") {
		t.Fatalf("mutating=false on a protected task: %v, want a narrowing refusal naming start:runner", err)
	}
	if task := must(l.GetTask(context.Background(), key)); !task.Mutating {
		t.Fatal("the refused edit changed the task")
	}
}

// A narrowing approved with a token another human issued is that
// human's too: the proposer cannot approve it through a token they
// issued, nor can the task's owner.
func TestNarrowing_ApprovalThroughAHandedTokenIsTheIssuers(t *testing.T) {
	l := demoLedger(t)
	const key = "OPS-EDGE-TUNNEL-001"
	drop := fairway.TaskUpdate{RemoveScope: fairway.Scope{Surfaces: []string{"edge"}, ChangeClasses: []string{"edge-dns"}}}
	n := must(l.ProposeNarrowing(as("priya"), key, drop))
	sergei := withToken(t, l, must(l.RotateToken(as("priya"), "sergei", 0)).Token)
	_, err := l.ApproveNarrowing(sergei, n.ID)
	wantErr(t, "sergei through priya's token", err, fairway.EFORBIDDEN, fmt.Sprintf("sergei acts with a token issued by priya, who proposed narrowing %d and cannot also approve it", n.ID))
	olivia := withToken(t, l, must(l.RotateToken(as("omar"), "olivia", 0)).Token)
	_, err = l.ApproveNarrowing(olivia, n.ID)
	wantErr(t, "olivia through omar's token", err, fairway.EFORBIDDEN, "olivia is not independent of "+key+" (acts with a token issued by omar, who owns the task)")
}
