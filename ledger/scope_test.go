package ledger_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/demo"
	"fairway/ledger"
)

func scopeReq(t *testing.T, l *ledger.Ledger, key string) (fairway.Requirement, *fairway.GateDecision) {
	t.Helper()
	d := must(l.ExplainGate(context.Background(), key))
	for _, r := range d.Requirements {
		if r.ID == "scope" {
			return r, d
		}
	}
	return fairway.Requirement{State: "absent"}, d
}

func hasReq(d *fairway.GateDecision, id string) *fairway.Requirement {
	for i := range d.Requirements {
		if d.Requirements[i].ID == id {
			return &d.Requirements[i]
		}
	}
	return nil
}

// A change outside the task's declared scope: an unsatisfied scope
// requirement naming the paths and their owning layer; the layers it
// touches beyond the task's own add their domains' reviews; an agent
// cannot acknowledge; a human can; a new drift opens it again, and
// nothing added is ever taken away by a later check.
func TestScope_DriftWidensTheGateAndWaitsForAHuman(t *testing.T) {
	l := MustOpenLedger(t)
	must(l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}))
	must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: "codex", Kind: fairway.KindAgent}))
	must(l.CreateLane(as("alice"), fairway.LaneCreate{Name: "closeout", KeyPrefix: "OPS-FIX"}))
	must(l.BootstrapPolicy(as("alice"), "governance.yaml", demo.Policy))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-001", Lane: "closeout", Title: "platform fix",
		Scope: fairway.Scope{Paths: []string{"services/platform/**"}}}))

	if r, d := scopeReq(t, l, "OPS-FIX-001"); r.State != "absent" || hasReq(d, "review:gpuaas") != nil {
		t.Fatalf("before any check: %+v", r)
	}
	rec := must(l.CheckScope(as("codex"), fairway.ScopeCheck{Task: "OPS-FIX-001", Base: "0123abcd",
		Paths: []string{"services/platform/api.go", "services/gpuaas/alloc.go", "docs/notes.md", "services/gpuaas/alloc.go"}}))
	if got := strings.Join(rec.Outside, " "); got != "docs/notes.md services/gpuaas/alloc.go" {
		t.Fatalf("outside = %q", got)
	}
	if !slices.Equal(rec.Layers["gpuaas-product"], []string{"services/gpuaas/alloc.go"}) || !slices.Equal(rec.Layers["shared-platform"], []string{"services/platform/api.go"}) || len(rec.Layers) != 2 {
		t.Fatalf("layers = %v", rec.Layers)
	}
	if !slices.Equal(rec.Domains, []string{"gpuaas"}) || rec.By != "codex" {
		t.Fatalf("domains = %v by %s", rec.Domains, rec.By)
	}
	r, d := scopeReq(t, l, "OPS-FIX-001")
	if r.State != fairway.ReqUnsatisfied || r.Detail != "changed outside the task's declared scope: docs/notes.md (no layer owns it); services/gpuaas/alloc.go (layer gpuaas-product)" ||
		!strings.Contains(r.Remedy, "fairway scope acknowledge OPS-FIX-001 --paths docs/notes.md,services/gpuaas/alloc.go") || d.Pass {
		t.Fatalf("scope requirement: %+v", r)
	}
	review := hasReq(d, "review:gpuaas")
	if review == nil || review.State != fairway.ReqUnsatisfied || !strings.Contains(review.Because, "touches services/gpuaas/alloc.go, owned by layer gpuaas-product") {
		t.Fatalf("the gpuaas review was not added: %+v", review)
	}
	if p := hasReq(d, "review:platform"); p != nil && strings.Contains(p.Because, "scope check") {
		t.Fatal("the task's own layer was added as a widening")
	}

	// An agent acknowledging is refused, and the refusal audited.
	_, err := l.AcknowledgeScope(as("codex"), fairway.ScopeAcknowledge{Task: "OPS-FIX-001", Paths: []string{"docs/notes.md", "services/gpuaas/alloc.go"}})
	if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "only a human can acknowledge") {
		t.Fatalf("agent acknowledge: %v", err)
	}
	events := must(l.AuditLog(context.Background(), fairway.AuditFilter{Limit: 1000}))
	if last := events[len(events)-1]; last.Action != "scope.acknowledge.refused" || last.Actor != "codex" {
		t.Fatalf("last event %s by %s", last.Action, last.Actor)
	}
	// A path that is not waiting is refused, naming those that are.
	if _, err := l.AcknowledgeScope(as("alice"), fairway.ScopeAcknowledge{Task: "OPS-FIX-001", Paths: []string{"services/platform/api.go"}}); fairway.ErrorCode(err) != fairway.EINVALID ||
		!strings.Contains(err.Error(), "those are: docs/notes.md, services/gpuaas/alloc.go") {
		t.Fatalf("acknowledging an inside path: %v", err)
	}
	must(l.AcknowledgeScope(as("alice"), fairway.ScopeAcknowledge{Task: "OPS-FIX-001", Paths: []string{"docs/notes.md", "services/gpuaas/alloc.go"}, Note: "agreed with gpuaas"}))
	if r, _ := scopeReq(t, l, "OPS-FIX-001"); r.State != fairway.ReqSatisfied {
		t.Fatalf("after the acknowledgement: %+v", r)
	}

	// The same change checked again stays acknowledged; a new drift
	// opens the requirement naming only the new path; the gpuaas review
	// stays although this check no longer touches gpuaas.
	must(l.CheckScope(as("codex"), fairway.ScopeCheck{Task: "OPS-FIX-001", Paths: []string{"docs/notes.md", "services/gpuaas/alloc.go"}}))
	if r, _ := scopeReq(t, l, "OPS-FIX-001"); r.State != fairway.ReqSatisfied {
		t.Fatalf("the acknowledged change checked again: %+v", r)
	}
	must(l.CheckScope(as("codex"), fairway.ScopeCheck{Task: "OPS-FIX-001", Paths: []string{"services/token-factory/quota.go"}}))
	r, d = scopeReq(t, l, "OPS-FIX-001")
	if r.State != fairway.ReqUnsatisfied || r.Detail != "changed outside the task's declared scope: services/token-factory/quota.go (layer token-factory)" {
		t.Fatalf("a new drift: %+v", r)
	}
	if hasReq(d, "review:token-factory") == nil || hasReq(d, "review:gpuaas") == nil {
		t.Fatalf("widening lost or missing: %+v", d.Requirements)
	}
	if _, err := l.RequestWaiver(as("codex"), fairway.WaiverRequest{Task: "OPS-FIX-001", Requirement: "scope", Reason: "x", ExpiresAt: time.Now().Add(time.Hour)}); fairway.ErrorCode(err) != fairway.EINVALID {
		t.Fatalf("a waiver of the scope requirement: %v", err)
	}
	list := must(l.ScopeRecords(context.Background(), "OPS-FIX-001"))
	if len(list) != 4 || list[1].Kind != fairway.ScopeAcknowledged || list[1].By != "alice" || list[1].Note != "agreed with gpuaas" {
		t.Fatalf("records: %+v", list)
	}
	if v := must(l.VerifyAudit(context.Background())); !v.OK {
		t.Fatalf("audit: %+v", v)
	}
}
