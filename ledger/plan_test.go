package ledger_test

import (
	"context"
	"maps"
	"slices"
	"strconv"
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
		safe = append(safe, s.Kind+" "+s.Task.Key)
		if !strings.Contains(s.Why, "no protected change class") {
			t.Errorf("%s: why = %q", s.Task.Key, s.Why)
		}
	}
	if !slices.Equal(safe, []string{"docs OPS-CAPACITY-001", "docs OPS-RUNBOOK-001", "task OPS-UNLABELLED-001"}) || plan.Safe[0].Unblocks != 1 || plan.Safe[1].Unblocks != 0 {
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

// seedClasses are the protected change classes of the seed's list, as
// the demo policy names them: Keycloak/identity provider, runner,
// Cloudflare/edge, firewall, route, RTE/runtime environment, secret,
// destructive cleanup, production deploy.
var seedClasses = []string{"identity-provider", "runner", "edge-dns", "firewall", "route", "runtime-environment", "secret", "destructive-cleanup", "production-deploy"}

// TestPlan_EveryKindOfSafeWorkAndNoProtectedMutation: each kind of safe
// work is offered with why and what to do — a non-mutating task, docs
// work, a monitor whose run ended, a review nobody was asked for, a
// failed check without follow-up, a non-production suite due — and for
// every protected class of the seed, in every one of those shapes, the
// task is never offered to be worked on: only its review may be routed.
func TestPlan_EveryKindOfSafeWorkAndNoProtectedMutation(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	alice := as("alice")
	create := func(c fairway.TaskCreate) {
		t.Helper()
		if c.Title == "" {
			c.Title = c.Key
		}
		must(l.CreateTask(alice, c))
	}
	terminal := func(key string) {
		must(l.AddEvidence(as("ci"), fairway.EvidenceAdd{Task: key, Kind: fairway.EvidenceCITerminal, Filename: "ci-run.json"},
			fairway.EvidenceParts{Content: strings.NewReader(`{"conclusion":"success"}` + "\n")}))
	}
	toReview := func(key string) {
		must(l.TransitionTask(alice, key, fairway.Transition{Status: fairway.StatusInProgress}))
		must(l.TransitionTask(alice, key, fairway.Transition{Status: fairway.StatusInReview}))
	}
	// The safe shapes.
	create(fairway.TaskCreate{Key: "OPS-READ-001", Title: "read-only audit of quotas"})
	create(fairway.TaskCreate{Key: "OPS-RUNBOOK-001", Labels: []string{"runbook"}})
	create(fairway.TaskCreate{Key: "OPS-CI-MONITOR-001", Labels: []string{"monitor", "repo/acme/gpuaas"}})
	terminal("OPS-CI-MONITOR-001")
	create(fairway.TaskCreate{Key: "OPS-CI-MONITOR-002", Labels: []string{"monitor", "repo/acme/gpuaas"}}) // its run has not ended
	create(fairway.TaskCreate{Key: "OPS-REVIEW-001"})
	toReview("OPS-REVIEW-001")
	create(fairway.TaskCreate{Key: "OPS-KIND-001", Title: "kind smoke"})
	create(fairway.TaskCreate{Key: "OPS-DEV-001", Title: "dev deploy with a failed smoke"})
	pass := must(l.AddEvidence(as("codex"), fairway.EvidenceAdd{Task: "OPS-KIND-001", Kind: "command-result", Command: &fairway.Command{Argv: []string{"make", "ci"}}},
		fairway.EvidenceParts{Content: strings.NewReader("ok\n")}))
	devPass := must(l.AddEvidence(as("codex"), fairway.EvidenceAdd{Task: "OPS-DEV-001", Kind: "command-result", Command: &fairway.Command{Argv: []string{"make", "ci"}}},
		fairway.EvidenceParts{Content: strings.NewReader("ok\n")}))
	kindRun := must(l.StartDeploy(alice, fairway.DeployStart{Task: "OPS-KIND-001", Environment: "kind-local", Commit: "0123abcd"}))
	devRun := must(l.StartDeploy(alice, fairway.DeployStart{Task: "OPS-DEV-001", Environment: "dev", Commit: "0123abcd"}))
	for _, r := range []struct {
		run int64
		ev  string
	}{{kindRun.ID, pass.ID}, {devRun.ID, devPass.ID}} {
		for _, st := range []string{fairway.StageCI, fairway.StageDeploy} {
			must(l.MoveStage(alice, fairway.StageMove{Run: r.run, Stage: st, Status: fairway.StagePassed, Evidence: []string{r.ev}}))
		}
	}
	must(l.MoveStage(alice, fairway.StageMove{Run: devRun.ID, Stage: fairway.StageSmoke, Status: fairway.StageFailed}))
	// Every protected class, in every shape that would otherwise be safe.
	for i, c := range seedClasses {
		n := strconv.Itoa(i + 1)
		scope := fairway.Scope{ChangeClasses: []string{c}}
		create(fairway.TaskCreate{Key: "PROT-MUT-" + n, Mutating: true, Scope: scope, Labels: []string{"docs"}})
		create(fairway.TaskCreate{Key: "PROT-SAFE-" + n, Scope: scope, Labels: []string{"safe-fallback", "runbook"}})
		create(fairway.TaskCreate{Key: "PROT-MON-" + n, Scope: scope, Labels: []string{"monitor", "repo/acme/gpuaas"}})
		terminal("PROT-MON-" + n)
		create(fairway.TaskCreate{Key: "PROT-REVIEW-" + n, Scope: scope}) // a mutating one cannot start without its approvals
		toReview("PROT-REVIEW-" + n)
		if c == "production-deploy" {
			// A production deploy-run is never a suite due: its deploy
			// stage waits for approval, and production is not fallback.
			must(l.StartDeploy(alice, fairway.DeployStart{Task: "PROT-REVIEW-" + n, Environment: "production", Commit: "0123abcd"}))
		}
	}
	create(fairway.TaskCreate{Key: "OPS-MUTATING-001", Mutating: true, Labels: []string{"docs"}})

	plan := must(l.Plan(alice, fairway.PlanFilter{Limit: 1000}))
	got := map[string]string{}
	for _, s := range plan.Safe {
		key := s.Task.Key
		if s.Run != 0 {
			key += "#" + strconv.FormatInt(s.Run, 10)
		}
		if s.Why == "" || s.Action == "" {
			t.Errorf("%s %s: no why or action: %+v", s.Kind, key, s)
		}
		if prev, dup := got[key]; dup {
			t.Errorf("%s offered twice: %s and %s", key, prev, s.Kind)
		}
		got[key] = s.Kind
		if strings.HasPrefix(key, "PROT-") || key == "OPS-MUTATING-001" {
			if s.Kind != fairway.SafeReview || strings.Contains(s.Action, "take") {
				t.Errorf("protected or mutating %s offered as %s: %s / %s", key, s.Kind, s.Why, s.Action)
			}
		}
	}
	want := map[string]string{
		"OPS-READ-001": "task", "OPS-KIND-001": "task", "OPS-DEV-001": "task", "OPS-RUNBOOK-001": "docs", "OPS-CI-MONITOR-001": "monitor", "OPS-REVIEW-001": "review",
		"OPS-KIND-001#" + strconv.FormatInt(kindRun.ID, 10): "suite", "OPS-DEV-001#" + strconv.FormatInt(devRun.ID, 10): "finding",
	}
	for i := range seedClasses {
		want["PROT-REVIEW-"+strconv.Itoa(i+1)] = "review"
	}
	// The fixture's own tasks: OPS-FIX-003 and -006 are ready and safe;
	// OPS-FIX-002 (a failed dev smoke, run of the fixture) has a finding.
	for _, s := range plan.Safe {
		if strings.HasPrefix(s.Task.Key, "OPS-FIX-") {
			delete(got, s.Task.Key+map[bool]string{true: "#" + strconv.FormatInt(s.Run, 10), false: ""}[s.Run != 0])
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("safe work =\n%v\nwant\n%v", got, want)
	}
	var why []string
	for _, s := range plan.Safe {
		if s.Task.Key == "OPS-KIND-001" || s.Task.Key == "OPS-CI-MONITOR-001" {
			why = append(why, s.Why)
		}
	}
	if len(why) != 3 || !slices.ContainsFunc(why, func(w string) bool { return strings.Contains(w, "in kind-local (kind, not production) is due") }) ||
		!slices.ContainsFunc(why, func(w string) bool { return strings.HasPrefix(w, "monitor task whose watched run ended (EV-") }) {
		t.Fatalf("why = %q", why)
	}
}
