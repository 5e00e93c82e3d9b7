package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fairway"
)

// Load fills an empty ledger with the seed's GPUaaS closeout scenario:
// people and agents, the governance policy, lanes, the closeout tasks and
// their dependencies, safe fallback work with evidence, claims, reviews
// and a pending waiver. It acts through svc as each person in turn.
func Load(ctx context.Context, svc fairway.Service) error {
	l := &loader{ctx: ctx, svc: svc}
	l.actors()
	l.do(func() error {
		_, err := svc.BootstrapPolicy(l.as("olivia"), "governance.yaml", Policy)
		return err
	})
	for _, lane := range []fairway.LaneCreate{
		{Name: "closeout", KeyPrefix: "OPS-FIX", Description: "GPUaaS closeout program"},
		{Name: "kind-uat", KeyPrefix: "OPS-UAT", Description: "Full kind UAT and dev deploy, gated on compute capacity"},
		{Name: "safe-work", KeyPrefix: "OPS-SAFE", Description: "Safe fallback work while lanes wait"},
		{Name: "platform", KeyPrefix: "PLAT", Description: "Shared platform services"},
	} {
		l.do(func() error { _, err := svc.CreateLane(l.as("olivia"), lane); return err })
	}
	l.tasks()
	l.work()
	l.outcomes()
	l.sessions()
	l.deploys()
	l.runs()
	return l.err
}

// runs records a kind deploy-run of the full UAT: CI, deploy and the
// deterministic smoke passed, and its UAT stage waits while the mutating
// checks are blocked by compute capacity; and a monitor task watching
// main CI, settled when the webhook delivers its end.
func (l *loader) runs() {
	const uat = "OPS-UAT-KIND-FULL-001"
	l.do(func() error {
		ci, err := l.svc.AddEvidence(l.as("codex-1"), fairway.EvidenceAdd{Task: uat, Kind: fairway.EvidenceCommandResult, Filename: "ci.log",
			Note: "CI of the UAT build", Command: &fairway.Command{Argv: []string{"make", "ci"}, ExitCode: 0}},
			fairway.EvidenceParts{Content: strings.NewReader("ok  \tgpuaas/...\t(cached)\n")})
		if err != nil {
			return err
		}
		smoke := `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="kind-smoke" tests="5" failures="0" errors="0" skipped="0">
  <testcase name="session" classname="kind-smoke.auth/session"><properties><property name="digest" value="sha256:5d0c3ab1f0e9a4c2b7d86e1f3a2c4b5d6e7f8091a2b3c4d5e6f708192a3b4c5d"></property></properties></testcase>
  <testcase name="mfa-posture" classname="kind-smoke.account/security"></testcase>
  <testcase name="catalog" classname="kind-smoke.catalog/read-models"></testcase>
  <testcase name="invoices" classname="kind-smoke.billing/finance-reads"></testcase>
  <testcase name="ops-read-models" classname="kind-smoke.admin/ops-read-models"></testcase>
</testsuite>
`
		sm, err := l.svc.AddEvidence(l.as("codex-1"), fairway.EvidenceAdd{Task: uat, Kind: fairway.EvidenceSmoke, Filename: "kind-smoke.junit.xml",
			Note: "read-only kind smoke, outputs normalised (timestamps, ids, durations masked)"}, fairway.EvidenceParts{Content: strings.NewReader(smoke)})
		if err != nil {
			return err
		}
		run, err := l.svc.StartDeploy(l.as("codex-1"), fairway.DeployStart{Task: uat, Environment: "kind-local", Commit: "5c1f0e2d9a8b"})
		if err != nil {
			return err
		}
		for _, m := range []fairway.StageMove{
			{Run: run.ID, Stage: fairway.StageCI, Status: fairway.StagePassed, Evidence: []string{ci.ID}},
			{Run: run.ID, Stage: fairway.StageDeploy, Status: fairway.StagePassed, Evidence: []string{ci.ID}, Note: "alternate small profile"},
			{Run: run.ID, Stage: fairway.StageSmoke, Status: fairway.StagePassed, Evidence: []string{sm.ID}},
		} {
			if _, err := l.svc.MoveStage(l.as("codex-1"), m); err != nil {
				return err
			}
		}
		return nil
	})
	l.task("priya", fairway.TaskCreate{Key: "PLAT-CI-MONITOR-001", Lane: "platform", Owner: "codex-1", Priority: prio(3), Risk: fairway.RiskLow,
		Title: "Watch main CI of the release commit", Labels: []string{"monitor", "repo/acme/gpuaas", "workflow/ci.yml"}})
}

type loader struct {
	ctx context.Context
	svc fairway.Service
	err error
}

func (l *loader) as(name string) context.Context {
	return fairway.NewContextWithActor(l.ctx, &fairway.Actor{Name: name})
}

func (l *loader) do(fn func() error) {
	if l.err == nil {
		l.err = fn()
	}
}

func (l *loader) actors() {
	people := []fairway.ActorCreate{
		{Name: "olivia", Kind: fairway.KindHuman, DisplayName: "Olivia (ops lead)"},
		{Name: "omar", Kind: fairway.KindHuman, DisplayName: "Omar (ops)"},
		{Name: "sana", Kind: fairway.KindHuman, DisplayName: "Sana (security lead)"},
		{Name: "sergei", Kind: fairway.KindHuman, DisplayName: "Sergei (security)"},
		{Name: "priya", Kind: fairway.KindHuman, DisplayName: "Priya (platform)"},
		{Name: "paul", Kind: fairway.KindHuman, DisplayName: "Paul (platform)"},
		{Name: "grace", Kind: fairway.KindHuman, DisplayName: "Grace (GPUaaS product)"},
		{Name: "gustavo", Kind: fairway.KindHuman, DisplayName: "Gustavo (product)"},
		{Name: "codex-1", Kind: fairway.KindAgent, DisplayName: "Codex"},
		{Name: "claude-1", Kind: fairway.KindAgent, DisplayName: "Claude Code"},
		{Name: "ci", Kind: fairway.KindService, DisplayName: "CI events (webhooks)"},
	}
	for i, p := range people {
		ctx := l.ctx
		if i > 0 {
			ctx = l.as("olivia")
		}
		l.do(func() error { _, err := l.svc.CreateActor(ctx, p); return err })
	}
}

func prio(n int) *int { return &n }

func (l *loader) task(by string, c fairway.TaskCreate) {
	l.do(func() error { _, err := l.svc.CreateTask(l.as(by), c); return err })
}

func (l *loader) dep(blocked, blocker string) {
	l.do(func() error { return l.svc.AddDependency(l.as("olivia"), blocked, blocker) })
}

func (l *loader) move(by, key, status, reason string) {
	l.do(func() error {
		_, err := l.svc.TransitionTask(l.as(by), key, fairway.Transition{Status: status, WaitReason: reason})
		return err
	})
}

func (l *loader) evidence(by, key, kind, file, body string) {
	l.do(func() error {
		_, err := l.svc.AddEvidence(l.as(by), fairway.EvidenceAdd{Task: key, Kind: kind, Filename: file}, fairway.EvidenceParts{Content: strings.NewReader(body)})
		return err
	})
}

func (l *loader) tasks() {
	capacity := "OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001"
	l.task("olivia", fairway.TaskCreate{Key: capacity, Lane: "closeout", Owner: "omar", Risk: fairway.RiskHigh, Priority: prio(0), Mutating: true,
		Title: "Restore schedulable capacity for compute-vm-small in local-maas-lxd",
		Scope: fairway.Scope{Text: "Free or add capacity so compute-vm-small schedules in local-maas-lxd, or record an approved alternate profile.",
			ChangeClasses: []string{"runtime-environment"}, Paths: []string{"deploy/maas/**"}}})
	l.task("olivia", fairway.TaskCreate{Key: "OPS-UAT-KIND-FULL-001", Lane: "kind-uat", Owner: "codex-1", Risk: fairway.RiskMedium, Priority: prio(1),
		Title: "Run full kind UAT", Labels: []string{"kind-uat"}, Scope: fairway.Scope{Surfaces: []string{"uat-deploy"}}})
	l.task("olivia", fairway.TaskCreate{Key: "OPS-UAT-DEV-DEPLOY-001", Lane: "kind-uat", Owner: "codex-1", Risk: fairway.RiskHigh, Priority: prio(1), Mutating: true,
		Title: "Dev deploy after full kind UAT", Labels: []string{"dev-deploy"}, Scope: fairway.Scope{Surfaces: []string{"uat-deploy"}}})
	l.dep("OPS-UAT-KIND-FULL-001", capacity)
	l.dep("OPS-UAT-DEV-DEPLOY-001", "OPS-UAT-KIND-FULL-001")
	l.move("omar", capacity, fairway.StatusBlocked, fairway.WaitCapacity)

	l.task("sana", fairway.TaskCreate{Key: "OPS-MFA-LIVE-DRILL-001", Lane: "closeout", Owner: "sergei", Risk: fairway.RiskMedium, Priority: prio(1),
		Title: "Run the MFA live drill with Keycloak and record it", Scope: fairway.Scope{Surfaces: []string{"mfa"}}})
	l.task("sana", fairway.TaskCreate{Key: "OPS-MFA-SENSITIVE-GATE-001", Lane: "closeout", Owner: "claude-1", Risk: fairway.RiskHigh, Priority: prio(1),
		Title: "Gate sensitive operations on MFA posture from token claims", Scope: fairway.Scope{Surfaces: []string{"mfa"}, Contracts: []string{"route:/v1/iam/step-up"}}})
	l.dep("OPS-MFA-SENSITIVE-GATE-001", "OPS-MFA-LIVE-DRILL-001")
	l.task("olivia", fairway.TaskCreate{Key: "OPS-RTE-EXPORTS-001", Lane: "closeout", Owner: "omar", Priority: prio(2),
		Title: "Export boundary, segmentation, storage, observability, IAM and separation evidence", Scope: fairway.Scope{Surfaces: []string{"rte"}}})
	l.move("omar", "OPS-RTE-EXPORTS-001", fairway.StatusBlocked, fairway.WaitExport)
	l.task("olivia", fairway.TaskCreate{Key: "OPS-RTE-SERVICE-EXPOSURE-001", Lane: "closeout", Owner: "omar", Priority: prio(2),
		Title: "Close the service exposure baseline", Labels: []string{"service-exposure"}, Scope: fairway.Scope{Surfaces: []string{"rte"}}})
	l.dep("OPS-RTE-SERVICE-EXPOSURE-001", "OPS-RTE-EXPORTS-001")
	l.task("olivia", fairway.TaskCreate{Key: "OPS-RUNNER-INVENTORY-001", Lane: "closeout", Owner: "codex-1", Priority: prio(2),
		Title: "Record non-secret runner inventory and host headroom", Scope: fairway.Scope{Surfaces: []string{"ci-runners"}}})
	l.task("olivia", fairway.TaskCreate{Key: "OPS-RUNNER-SCALEOUT-001", Lane: "closeout", Owner: "omar", Risk: fairway.RiskHigh, Priority: prio(2), Mutating: true,
		Title: "Controlled CI runner scaleout", Scope: fairway.Scope{Surfaces: []string{"ci-runners"}, ChangeClasses: []string{"runner"}}})
	l.dep("OPS-RUNNER-SCALEOUT-001", "OPS-RUNNER-INVENTORY-001")
	l.task("sana", fairway.TaskCreate{Key: "OPS-EDGE-TUNNEL-001", Lane: "closeout", Owner: "omar", Risk: fairway.RiskCritical, Priority: prio(1), Mutating: true,
		Title: "Rotate the Cloudflare tunnel and Access policy for the console", Scope: fairway.Scope{Surfaces: []string{"edge"}, ChangeClasses: []string{"edge-dns"}}})
	l.move("omar", "OPS-EDGE-TUNNEL-001", fairway.StatusBlocked, fairway.WaitApprovalWindow)
	l.task("priya", fairway.TaskCreate{Key: "DOCS-PORTAL-001", Lane: "platform", Owner: "claude-1", Priority: prio(3),
		Title: "Call the documentation portal current", Labels: []string{"portal"}})
}

func (l *loader) work() {
	smoke := []struct{ area, key string }{
		{"auth/session", "OPS-SAFE-001"}, {"account/security", "OPS-SAFE-002"}, {"catalog/read-models", "OPS-SAFE-003"},
		{"billing/finance-reads", "OPS-SAFE-004"}, {"admin/ops-read-models", "OPS-SAFE-005"}, {"terminal/connect", "OPS-SAFE-006"},
	}
	for _, s := range smoke {
		l.task("olivia", fairway.TaskCreate{Lane: "safe-work", Owner: "codex-1", Priority: prio(2), Risk: fairway.RiskLow, Labels: []string{"safe-fallback", "kind-smoke"},
			Title: "Non-mutating kind smoke: " + s.area, Scope: fairway.Scope{Text: "Read-only smoke against the existing active allocation"}})
	}
	for _, s := range smoke[:3] {
		l.move("codex-1", s.key, fairway.StatusInProgress, "")
		log := fmt.Sprintf("kind smoke %s\nallocation alloc-7f3 active\n%s: 12 checks, 12 passed\n", s.area, s.area)
		l.evidence("codex-1", s.key, fairway.EvidenceSmoke, "smoke.log", log)
		l.do(func() error {
			_, err := l.svc.AddClaim(l.as("codex-1"), fairway.ClaimAdd{Task: s.key, Text: "smoke passed, ready for review"})
			return err
		})
	}
	l.move("codex-1", "OPS-SAFE-001", fairway.StatusInReview, "")
	l.task("olivia", fairway.TaskCreate{Lane: "safe-work", Owner: "claude-1", Priority: prio(3), Risk: fairway.RiskLow, Labels: []string{"safe-fallback"},
		Title: "Keep the UAT coverage matrix current with evidence paths and blockers"})
	l.task("olivia", fairway.TaskCreate{Lane: "safe-work", Owner: "claude-1", Priority: prio(3), Risk: fairway.RiskLow, Labels: []string{"safe-fallback"},
		Title: "Update runbooks, source-of-truth maps and cleanup recommendations"})

	junit := `<testsuites><testsuite name="runner-inventory"><testcase name="inventory-exported"/><testcase name="no-secrets"/><testcase name="headroom"/></testsuite></testsuites>`
	l.evidence("codex-1", "OPS-RUNNER-INVENTORY-001", fairway.EvidenceTestReport, "inventory-junit.xml", junit)
	l.evidence("codex-1", "OPS-RUNNER-INVENTORY-001", fairway.EvidenceExport, "runners.csv", "runner,host,cpu_free,mem_free\nr-01,ci-a,12,48G\nr-02,ci-b,4,16G\n")
	l.evidence("omar", "OPS-EDGE-TUNNEL-001", fairway.EvidenceRollbackPlan, "rollback.md", "Restore tunnel config v41 and the previous Access policy; verify console login.\n")
	l.do(func() error {
		_, err := l.svc.AddReview(l.as("priya"), fairway.ReviewAdd{Task: "OPS-RUNNER-INVENTORY-001", Domain: "ops", Verdict: fairway.VerdictApproved})
		if fairway.ErrorCode(err) == fairway.EFORBIDDEN {
			err = nil // priya is not in ops: the demo shows the refusal in the audit log
		}
		return err
	})
	l.do(func() error {
		_, err := l.svc.AddReview(l.as("olivia"), fairway.ReviewAdd{Task: "OPS-EDGE-TUNNEL-001", Domain: "security", Verdict: fairway.VerdictChangesRequested,
			Items: []string{"attach the DNS diff"}})
		if fairway.ErrorCode(err) == fairway.EFORBIDDEN {
			err = nil
		}
		return err
	})
	l.do(func() error {
		_, err := l.svc.AddReview(l.as("sergei"), fairway.ReviewAdd{Task: "OPS-EDGE-TUNNEL-001", Domain: "security", Verdict: fairway.VerdictChangesRequested,
			Items: []string{"attach the DNS and Access policy diff", "name the rollback trigger"}})
		return err
	})
	l.do(func() error {
		_, err := l.svc.RequestWaiver(l.as("grace"), fairway.WaiverRequest{Task: "OPS-UAT-KIND-FULL-001", Requirement: "prerequisite:kind-compute-capacity",
			Reason: "run full UAT on the approved alternate small profile while capacity is restored", ExpiresAt: time.Now().Add(72 * time.Hour)})
		return err
	})
}

// outcomes completes the picture the portal shows: an approval made
// stale by later evidence (R4), a task closed through its gate, and one
// cancelled with its reason, so every status has a task.
func (l *loader) outcomes() {
	l.do(func() error {
		_, err := l.svc.AddReview(l.as("omar"), fairway.ReviewAdd{Task: "OPS-UAT-KIND-FULL-001", Domain: "ops", Verdict: fairway.VerdictApproved,
			Comment: "plan and harness look right"})
		return err
	})
	l.evidence("codex-1", "OPS-UAT-KIND-FULL-001", fairway.EvidenceSmoke, "alternate-profile-smoke.log",
		"kind smoke on the alternate small profile\nauth/session: 12 checks, 12 passed\nterminal connect: 4 checks, 4 passed\n")
	// The policy's default: safe work still closes only on one
	// independent human review (omar, ops; olivia created the task).
	l.do(func() error {
		_, err := l.svc.AddReview(l.as("omar"), fairway.ReviewAdd{Task: "OPS-SAFE-001", Domain: "ops", Verdict: fairway.VerdictApproved,
			Comment: "smoke log shows all 12 checks passing"})
		return err
	})
	l.do(func() error { _, err := l.svc.CloseTask(l.as("olivia"), "OPS-SAFE-001"); return err })
	l.move("codex-1", "OPS-SAFE-002", fairway.StatusInReview, "")
	l.task("olivia", fairway.TaskCreate{Key: "OPS-SAFE-009", Lane: "safe-work", Owner: "codex-1", Priority: prio(4), Risk: fairway.RiskLow, Labels: []string{"safe-fallback"},
		Title: "Non-mutating kind smoke: legacy console"})
	l.do(func() error {
		_, err := l.svc.CancelTask(l.as("olivia"), "OPS-SAFE-009", "the legacy console was retired; its smoke moved into terminal connect")
		return err
	})
}

// sessions shows provider sessions as attachments to tasks: one killed
// mid-run (interrupted, with what was observed before), and one replaced
// by a fresh session that left a handoff (R10).
func (l *loader) sessions() {
	exit137 := 137
	l.do(func() error {
		a, err := l.svc.AttachSession(l.as("codex-1"), fairway.SessionAttach{Task: "OPS-SAFE-003", Provider: "codex", Host: "ws-ops-2",
			ProviderSessions: []string{"codex-7d1e"}, TmuxSocket: "fairway", TmuxPane: "%3", Dir: "gpuaas/smoke", BaseCommit: "4be1c07"})
		if err != nil {
			return err
		}
		id := a.Session.ID
		for _, o := range []fairway.SessionObserve{
			{Session: id, Source: fairway.SourceHeartbeat},
			{Session: id, Source: fairway.SourceScreenStable, Detail: "catalog smoke output stable for 30s"},
			{Session: id, Source: fairway.SourceProcessExit, ExitCode: &exit137, Detail: "killed: out of memory on ws-ops-2"},
		} {
			if _, err := l.svc.ObserveSession(l.as("codex-1"), o); err != nil {
				return err
			}
		}
		return nil
	})
	l.do(func() error {
		first, err := l.svc.AttachSession(l.as("claude-1"), fairway.SessionAttach{Task: "OPS-MFA-SENSITIVE-GATE-001", Provider: "claude", Host: "ws-sec-1",
			ProviderSessions: []string{"claude-51a0"}, PID: 48211, PIDStart: "Mon Nov 30 09:12:03 2026", Dir: "iam/step-up", BaseCommit: "9c2f4aa"})
		if err != nil {
			return err
		}
		if _, err := l.svc.ObserveSession(l.as("claude-1"), fairway.SessionObserve{Session: first.Session.ID, Source: fairway.SourceWaiting,
			Detail: "asks whether to edit the step-up route owned by IAM"}); err != nil {
			return err
		}
		next, err := l.svc.AttachSession(l.as("claude-1"), fairway.SessionAttach{Task: "OPS-MFA-SENSITIVE-GATE-001", Provider: "claude", Host: "ws-sec-1",
			Replace: first.Session.ID, ProviderSessions: []string{"claude-77b3"}, Dir: "iam/step-up", BaseCommit: "9c2f4aa"})
		if err != nil {
			return err
		}
		if _, err := l.svc.ObserveSession(l.as("claude-1"), fairway.SessionObserve{Session: next.Session.ID, Source: fairway.SourceHeartbeat}); err != nil {
			return err
		}
		_, err = l.svc.DetachSession(l.as("claude-1"), next.Session.ID,
			"Step-up check drafted behind the IAM contract; it waits on the MFA live drill (OPS-MFA-LIVE-DRILL-001) before review. Nothing was pushed.")
		return err
	})
}

// CoverageKind is the kind of evidence that holds a check suite run's
// coverage matrix (as `fairway check run` records it).
const CoverageKind = "coverage"

// deploys shows a deploy-run to dev whose smoke failed and was rolled
// back, and a kind run whose smoke passed, each with the coverage of its
// smoke suite, so the UAT matrix has evidence in two environments.
func (l *loader) deploys() {
	add := func(by, key, kind, file, body string) string {
		var id string
		l.do(func() error {
			e, err := l.svc.AddEvidence(l.as(by), fairway.EvidenceAdd{Task: key, Kind: kind, Filename: file}, fairway.EvidenceParts{Content: strings.NewReader(body)})
			if err == nil {
				id = e.ID
			}
			return err
		})
		return id
	}
	move := func(by string, run *int64, stage, status, note string, ev ...string) {
		l.do(func() error {
			_, err := l.svc.MoveStage(l.as(by), fairway.StageMove{Run: *run, Stage: stage, Status: status, Evidence: ev, Note: note})
			return err
		})
	}
	start := func(key, env, commit string) *int64 {
		var id int64
		l.do(func() error {
			r, err := l.svc.StartDeploy(l.as("codex-1"), fairway.DeployStart{Task: key, Environment: env, Commit: commit})
			if err == nil {
				id = r.ID
			}
			return err
		})
		return &id
	}
	coverage := func(key string, run *int64, env string, proven, failing map[string]string) {
		var items []string
		for _, it := range []string{"auth/session", "account/security", "catalog/read-models", "billing/finance-reads", "admin/ops-read-models", "terminal/connect"} {
			state, ev := "not-covered", ""
			if id, ok := proven[it]; ok {
				state, ev = "proven", fmt.Sprintf(`,"proven":[%q]`, id)
			} else if id, ok := failing[it]; ok {
				state, ev = "failing", fmt.Sprintf(`,"failing":[%q]`, id)
			}
			items = append(items, fmt.Sprintf(`{"item":%q,"state":%q,"suite":"kind-smoke"%s}`, it, state, ev))
		}
		body := fmt.Sprintf(`{"suite":"kind-smoke","task":%q,"deploy":%d,"stage":"smoke","environment":%q,"items":[%s]}`+"\n", key, *run, env, strings.Join(items, ","))
		l.do(func() error {
			_, err := l.svc.AddEvidence(l.as("codex-1"), fairway.EvidenceAdd{Task: key, Kind: CoverageKind, Filename: "coverage.json", MediaType: "application/json",
				Note: "coverage of check suite kind-smoke in " + env}, fairway.EvidenceParts{Content: strings.NewReader(body)})
			return err
		})
	}

	dev := "OPS-UAT-DEV-DEPLOY-001"
	run := start(dev, "dev", "4be1c07")
	ci := add("codex-1", dev, fairway.EvidenceTestReport, "ci-junit.xml",
		`<testsuites><testsuite name="ci"><testcase name="build"/><testcase name="unit"/><testcase name="lint"/></testsuite></testsuites>`)
	move("codex-1", run, fairway.StageCI, fairway.StagePassed, "", ci)
	dep := add("codex-1", dev, fairway.EvidenceLog, "deploy.log", "helm upgrade gpuaas-console --namespace dev\nrelease gpuaas-console upgraded: revision 42\n")
	move("codex-1", run, fairway.StageDeploy, fairway.StagePassed, "", dep)
	auth := add("codex-1", dev, fairway.EvidenceSmoke, "smoke-auth.log", "auth/session: 12 checks, 12 passed\n")
	term := add("codex-1", dev, fairway.EvidenceSmoke, "smoke-terminal.log", "terminal connect: 4 checks, 1 passed, 3 failed\nwebsocket upgrade refused by the dev ingress (HTTP 426)\n")
	coverage(dev, run, "dev", map[string]string{"auth/session": auth}, map[string]string{"terminal/connect": term})
	move("codex-1", run, fairway.StageSmoke, fairway.StageFailed, "terminal connect failed: the dev ingress refuses websocket upgrades", auth, term)
	move("codex-1", run, fairway.StageUAT, fairway.StageSkipped, "smoke failed; UAT does not start on a broken deploy")
	rb := add("codex-1", dev, fairway.EvidenceLog, "rollback.log", "helm rollback gpuaas-console 41 --namespace dev\nrollback to revision 41 complete\nterminal connect: 4 checks, 4 passed\n")
	move("codex-1", run, fairway.StageRollback, fairway.StagePassed, "rolled back to revision 41; terminal connect passes again", rb)
	l.do(func() error {
		_, err := l.svc.MoveStage(l.as("codex-1"), fairway.StageMove{Run: *run, Stage: fairway.StageFollowUp, Status: fairway.StagePassed,
			Note: "the dev ingress websocket fix is tracked with the edge tunnel rotation (OPS-EDGE-TUNNEL-001)"})
		return err
	})

	kind := "OPS-UAT-KIND-FULL-001"
	krun := start(kind, "kind-local", "4be1c07")
	kci := add("codex-1", kind, fairway.EvidenceTestReport, "ci-junit.xml",
		`<testsuites><testsuite name="ci"><testcase name="build"/><testcase name="unit"/></testsuite></testsuites>`)
	move("codex-1", krun, fairway.StageCI, fairway.StagePassed, "", kci)
	kdep := add("codex-1", kind, fairway.EvidenceLog, "deploy.log", "kind load docker-image gpuaas-console:4be1c07\nkubectl rollout status deploy/gpuaas-console: successfully rolled out\n")
	move("codex-1", krun, fairway.StageDeploy, fairway.StagePassed, "on the alternate small profile", kdep)
	proven := map[string]string{}
	for _, area := range []string{"auth/session", "account/security", "catalog/read-models", "terminal/connect"} {
		proven[area] = add("codex-1", kind, fairway.EvidenceSmoke, "smoke-"+strings.ReplaceAll(strings.Fields(area)[0], "/", "-")+".log", area+": 4 checks, 4 passed\n")
	}
	coverage(kind, krun, "kind-local", proven, nil)
	move("codex-1", krun, fairway.StageSmoke, fairway.StagePassed, "", proven["auth/session"], proven["terminal/connect"])
}
