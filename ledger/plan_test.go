package ledger_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"fairway"
	"fairway/demo"
)

// The planner shows the waiting lane with what holds it, and offers only
// safe work: never a task of any protected change class in the seed's
// list, nor a mutating one, even labelled safe; the most unblocking first.
func TestPlan_SafeWorkNeverLoosensProductionControls(t *testing.T) {
	l := MustOpenLedger(t)
	must(l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}))
	must(l.BootstrapPolicy(as("alice"), "governance.yaml", demo.Policy))
	for _, lane := range []string{"closeout", "safe-work"} {
		must(l.CreateLane(as("alice"), fairway.LaneCreate{Name: lane}))
	}
	create := func(key, lane string, mutating bool, classes ...string) {
		must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: key, Title: key, Lane: lane, Mutating: mutating, Labels: []string{"safe-fallback"},
			Scope: fairway.Scope{ChangeClasses: classes}}))
	}
	// closeout waits: one task on an approval window, one on a dependency.
	create("OPS-DEPLOY-PROD-001", "closeout", true, "production-deploy")
	must(l.TransitionTask(as("alice"), "OPS-DEPLOY-PROD-001", fairway.Transition{Status: fairway.StatusBlocked, WaitReason: fairway.WaitApprovalWindow}))
	create("OPS-UAT-FULL-001", "closeout", true)
	create("OPS-CAPACITY-001", "safe-work", false)
	if err := l.AddDependency(as("alice"), "OPS-UAT-FULL-001", "OPS-CAPACITY-001"); err != nil {
		t.Fatal(err)
	}
	// Every protected class of the seed, labelled safe and not even
	// mutating, plus a mutating task with no class: none is safe.
	classes := []string{"identity-provider", "runner", "edge-dns", "firewall", "route", "runtime-environment", "secret", "destructive-cleanup", "production-deploy"}
	for i, c := range classes {
		create("OPS-PROTECTED-00"+string(rune('1'+i)), "safe-work", false, c)
	}
	create("OPS-MUTATING-001", "safe-work", true)
	create("OPS-RUNBOOK-001", "safe-work", false)
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-UNLABELLED-001", Title: "x", Lane: "safe-work"}))

	plan := must(l.Plan(as("alice"), fairway.PlanFilter{}))
	if len(plan.Waiting) != 1 || plan.Waiting[0].Lane != "closeout" || !slices.Equal(plan.Waiting[0].WaitingOn, []string{"approval-window", "dependency"}) {
		t.Fatalf("waiting = %+v", plan.Waiting)
	}
	held := map[string]string{}
	for _, h := range plan.Waiting[0].Held {
		held[h.Key] = h.WaitsOn + " " + strings.Join(h.Blockers, ",")
	}
	if held["OPS-DEPLOY-PROD-001"] != "approval-window " || held["OPS-UAT-FULL-001"] != "dependency OPS-CAPACITY-001" || len(held) != 2 {
		t.Fatalf("held = %v", held)
	}
	var safe []string
	for _, s := range plan.Safe {
		safe = append(safe, s.Task.Key)
		if !strings.Contains(s.Why, "labelled safe-fallback") || !strings.Contains(s.Why, "no protected change class") {
			t.Errorf("%s: why = %q", s.Task.Key, s.Why)
		}
	}
	if !slices.Equal(safe, []string{"OPS-CAPACITY-001", "OPS-RUNBOOK-001"}) || plan.Safe[0].Unblocks != 1 || plan.Safe[1].Unblocks != 0 {
		t.Fatalf("safe = %v (%+v)", safe, plan.Safe)
	}
	if !strings.HasPrefix(plan.PolicyDigest, "sha256:") {
		t.Fatalf("digest %q", plan.PolicyDigest)
	}
	// Narrowed to a lane that moves: nothing waits there; safe work is
	// still offered from every lane.
	plan = must(l.Plan(as("alice"), fairway.PlanFilter{Lane: "safe-work", Limit: 1}))
	if len(plan.Waiting) != 0 || len(plan.Safe) != 1 || plan.Safe[0].Task.Key != "OPS-CAPACITY-001" {
		t.Fatalf("lane plan = %+v", plan)
	}
	if _, err := l.Plan(as("alice"), fairway.PlanFilter{Lane: "nope"}); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatalf("unknown lane: %v", err)
	}
}
