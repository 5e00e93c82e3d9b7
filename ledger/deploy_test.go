package ledger_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"fairway"
	"fairway/demo"
	"fairway/ledger"
)

// Approval windows for production, as a policy would declare them. The
// test clock starts at 2026-11-01T09:00:00Z.
const (
	windowOpen  = "    approval_windows:\n      - {start: 2026-11-01T08:00:00Z, end: 2026-11-01T12:00:00Z}\n"
	windowLater = "    approval_windows:\n      - {start: 2026-11-05T09:00:00Z, end: 2026-11-05T17:00:00Z}\n"
)

// deployLedger is a ledger on the demo policy, production given window,
// with alice (human, creates the tasks), omar (human, ops), codex
// (agent) and task OPS-DEPLOY-001 in lane closeout.
func deployLedger(t *testing.T, window string) *ledger.Ledger {
	t.Helper()
	l := MustOpenLedger(t)
	must(l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}))
	for _, a := range []fairway.ActorCreate{{Name: "omar", Kind: fairway.KindHuman}, {Name: "codex", Kind: fairway.KindAgent}} {
		must(l.CreateActor(as("alice"), a))
	}
	src := strings.Replace(string(demo.Policy), "    change_class: production-deploy\n", "    change_class: production-deploy\n"+window, 1)
	must(l.BootstrapPolicy(as("alice"), "governance.yaml", []byte(src)))
	must(l.CreateLane(as("alice"), fairway.LaneCreate{Name: "closeout", KeyPrefix: "OPS-FIX"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-DEPLOY-001", Title: "ship allocations v2", Lane: "closeout", Labels: []string{"dev-deploy"}}))
	return l
}

func evidence(t *testing.T, l *ledger.Ledger, task, kind string, cmd *fairway.Command, body string) string {
	t.Helper()
	e, err := l.AddEvidence(as("codex"), fairway.EvidenceAdd{Task: task, Kind: kind, Command: cmd}, fairway.EvidenceParts{Content: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("add %s evidence: %v", kind, err)
	}
	return e.ID
}

func passing(argv ...string) *fairway.Command { return ran(0, argv...) }

func move(l *ledger.Ledger, who string, run int64, stage, status string, ev ...string) (*fairway.DeployRun, error) {
	note := ""
	if status == fairway.StageSkipped {
		note = "not needed here"
	}
	return l.MoveStage(as(who), fairway.StageMove{Run: run, Stage: stage, Status: status, Evidence: ev, Note: note})
}

func start(t *testing.T, l *ledger.Ledger, env string) *fairway.DeployRun {
	t.Helper()
	return must(l.StartDeploy(as("codex"), fairway.DeployStart{Task: "OPS-DEPLOY-001", Environment: env, Commit: "0123abcd", Artifacts: []string{"sha256:" + strings.Repeat("ab", 32)}}))
}

// A deploy stage in a protected environment needs the production-deploy
// approval, recorded rollback criteria and an open approval window; a
// refusal names every one missing, is audited, and changes nothing.
func TestDeploy_ProtectedDeployNeedsApprovalRollbackAndWindow(t *testing.T) {
	cases := []struct {
		name               string
		window             string
		rollback, approval bool
		want               []string // in the refusal; none when allowed
		notWant            []string
	}{
		{name: "everything in place", window: windowOpen, rollback: true, approval: true},
		{name: "no approval", window: windowOpen, rollback: true,
			want: []string{"the production-deploy approval of ops (0 of 1 approval(s)", "fairway review approve OPS-DEPLOY-001 --domain ops"}, notWant: []string{"rollback criteria", "window"}},
		{name: "no rollback criteria", window: windowOpen, approval: true,
			want: []string{"recorded rollback criteria (no rollback-plan evidence on the task"}, notWant: []string{"approval of ops", "window"}},
		{name: "window opens later", window: windowLater, rollback: true, approval: true,
			want: []string{"an open approval window: none is open now", "the next opens at 2026-11-05T09:00:00Z and closes at 2026-11-05T17:00:00Z"}, notWant: []string{"approval of ops", "rollback criteria"}},
		{name: "no window at all", rollback: true, approval: true,
			want: []string{"the policy declares none ahead for production"}},
		{name: "nothing", want: []string{"approval of ops", "rollback criteria", "approval window"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := deployLedger(t, c.window)
			run := start(t, l, "production")
			if !run.Protected || run.Class != "production" || run.State != fairway.DeployRunning || len(run.Stages) != 6 {
				t.Fatalf("started run = %+v", run)
			}
			ci := evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("make", "ci"), "ok\n")
			must(move(l, "codex", run.ID, fairway.StageCI, fairway.StagePassed, ci))
			if c.rollback {
				evidence(t, l, "OPS-DEPLOY-001", "rollback-plan", nil, "redeploy the previous image digest\n")
			}
			if c.approval {
				must(l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-DEPLOY-001", Domain: "ops", Verdict: fairway.VerdictApproved}))
			}
			before := auditLen(t, l)
			got, err := move(l, "codex", run.ID, fairway.StageDeploy, fairway.StageRunning)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("deploy stage refused: %v", err)
				}
				if s := got.Stage(fairway.StageDeploy); s.Status != fairway.StageRunning || s.By != "codex" || s.ByKind != fairway.KindAgent {
					t.Fatalf("deploy stage = %+v", s)
				}
				return
			}
			if fairway.ErrorCode(err) != fairway.EFORBIDDEN {
				t.Fatalf("deploy stage: %v, want forbidden", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q does not say %q", err, w)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q names %q, which is in place", err, w)
				}
			}
			events := must(l.AuditLog(context.Background(), fairway.AuditFilter{}))
			if len(events) != before+1 || events[len(events)-1].Action != "deploy.stage.refused" {
				t.Errorf("refusal not audited as one deploy.stage.refused event")
			}
			if s := must(l.GetDeployRun(context.Background(), run.ID)).Stage(fairway.StageDeploy); s.Status != fairway.StagePending {
				t.Errorf("refused move changed the stage: %+v", s)
			}
		})
	}
}

// Skipping the deploy stage of a protected run mutates nothing and needs
// no approval; an unprotected environment needs none either.
func TestDeploy_UnprotectedEnvironmentNeedsNoApproval(t *testing.T) {
	l := deployLedger(t, "")
	run := start(t, l, "dev")
	if run.Protected {
		t.Fatalf("dev run protected")
	}
	ci := evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("make", "ci"), "ok\n")
	must(move(l, "codex", run.ID, fairway.StageCI, fairway.StagePassed, ci))
	if _, err := move(l, "codex", run.ID, fairway.StageDeploy, fairway.StageRunning); err != nil {
		t.Fatalf("dev deploy: %v", err)
	}
}

// A stage passes only on evidence of the run's task that shows success,
// judged as the gate judges it; context never counts.
func TestDeploy_PassedStageNeedsEvidenceThatShowsSuccess(t *testing.T) {
	l := deployLedger(t, "")
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-OTHER-001", Title: "other"}))
	run := start(t, l, "dev")
	failing := evidence(t, l, "OPS-DEPLOY-001", "command-result", ran(1, "make", "ci"), "FAIL\n")
	transcript := evidence(t, l, "OPS-DEPLOY-001", "context", nil, "agent: CI is green\n")
	other := evidence(t, l, "OPS-OTHER-001", "command-result", passing("make", "ci"), "ok\n")
	good := evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("make", "ci"), "ok\n")
	cases := []struct {
		name string
		ev   []string
		want string
	}{
		{"no evidence", nil, "a passed stage needs evidence that shows success"},
		{"failing command", []string{failing}, failing + " exited 1: failing evidence cannot pass stage ci"},
		{"one failing among passing", []string{good, failing}, failing + " exited 1"},
		{"transcript", []string{transcript}, "is context evidence, which never proves a stage (R11)"},
		{"another task's evidence", []string{other}, "is evidence of OPS-OTHER-001, not of OPS-DEPLOY-001"},
		{"unknown evidence", []string{"EV-404"}, "evidence EV-404 does not exist"},
	}
	for _, c := range cases {
		_, err := move(l, "codex", run.ID, fairway.StageCI, fairway.StagePassed, c.ev...)
		if fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want invalid saying %q", c.name, err, c.want)
		}
	}
	got := must(move(l, "codex", run.ID, fairway.StageCI, fairway.StagePassed, good))
	if s := got.Stage(fairway.StageCI); s.Status != fairway.StagePassed || len(s.Evidence) != 1 || s.Evidence[0] != good {
		t.Fatalf("ci stage = %+v", s)
	}
	// A failed stage may cite the failing evidence.
	run2 := start(t, l, "dev")
	if _, err := move(l, "codex", run2.ID, fairway.StageCI, fairway.StageFailed, failing); err != nil {
		t.Fatalf("failed stage with failing evidence: %v", err)
	}
}

// Stages move in order and an outcome never changes.
func TestDeploy_StagesMoveInOrder(t *testing.T) {
	l := deployLedger(t, "")
	run := start(t, l, "dev")
	ci := evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("make", "ci"), "ok\n")
	cases := []struct {
		stage, status string
		ev            []string
		want          string // error code; "" when allowed
	}{
		{fairway.StageDeploy, fairway.StageRunning, nil, fairway.ECONFLICT},   // ci still pending
		{fairway.StageRollback, fairway.StageRunning, nil, fairway.ECONFLICT}, // nothing deployed
		{fairway.StageFollowUp, fairway.StagePassed, nil, fairway.ECONFLICT},  // main stages open
		{fairway.StageCI, fairway.StageRunning, nil, ""},
		{fairway.StageCI, fairway.StageRunning, nil, fairway.ECONFLICT}, // already running
		{fairway.StageCI, fairway.StagePassed, []string{ci}, ""},
		{fairway.StageCI, fairway.StageFailed, []string{ci}, fairway.ECONFLICT}, // outcome is final
		{fairway.StageDeploy, fairway.StagePassed, []string{ci}, ""},
		{fairway.StageSmoke, "done", nil, fairway.EINVALID},
		{"canary", fairway.StagePassed, nil, fairway.EINVALID},
	}
	for i, c := range cases {
		_, err := move(l, "codex", run.ID, c.stage, c.status, c.ev...)
		if fairway.ErrorCode(err) != c.want {
			t.Errorf("step %d: %s → %s: %v, want %q", i, c.stage, c.status, err, c.want)
		}
	}
	if _, err := move(l, "codex", 999, fairway.StageCI, fairway.StageRunning); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Errorf("unknown run: %v", err)
	}
	_, err := l.StartDeploy(as("codex"), fairway.DeployStart{Task: "OPS-DEPLOY-001", Environment: "qa", Commit: "0123abcd"})
	if fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), `environment "qa" is not declared by the policy in force; declared: dev, kind-local, production`) {
		t.Errorf("unknown environment: %v", err)
	}
	for _, bad := range []fairway.DeployStart{
		{Task: "OPS-DEPLOY-001", Environment: "dev", Commit: "main"},
		{Task: "OPS-DEPLOY-001", Environment: "dev", Commit: "0123abcd", Artifacts: []string{"latest"}},
		{Task: "OPS-DEPLOY-001", Commit: "0123abcd"},
	} {
		if _, err := l.StartDeploy(as("codex"), bad); fairway.ErrorCode(err) != fairway.EINVALID {
			t.Errorf("start %+v: %v, want invalid", bad, err)
		}
	}
}

// passToSmoke moves a dev run through ci and deploy.
func passToSmoke(t *testing.T, l *ledger.Ledger) *fairway.DeployRun {
	t.Helper()
	run := start(t, l, "dev")
	ci := evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("make", "ci"), "ok\n")
	must(move(l, "codex", run.ID, fairway.StageCI, fairway.StagePassed, ci))
	must(move(l, "codex", run.ID, fairway.StageDeploy, fairway.StagePassed, ci))
	return run
}

// A failed smoke or UAT needs a rollback stage or a human's decision not
// to roll back before the run can finish; either way it did not finish
// well.
func TestDeploy_FailedSmokeNeedsRollbackOrHumanDecision(t *testing.T) {
	for _, way := range []string{"rollback", "decision"} {
		t.Run(way, func(t *testing.T) {
			l := deployLedger(t, "")
			run := passToSmoke(t, l)
			smoke := evidence(t, l, "OPS-DEPLOY-001", "smoke", ran(1, "smoke", "auth"), "401\n")
			must(move(l, "codex", run.ID, fairway.StageSmoke, fairway.StageFailed, smoke))
			must(move(l, "codex", run.ID, fairway.StageUAT, fairway.StageSkipped))
			_, err := move(l, "codex", run.ID, fairway.StageFollowUp, fairway.StagePassed)
			if fairway.ErrorCode(err) != fairway.ECONFLICT || !strings.Contains(err.Error(), "smoke failed, so it needs a rollback stage") {
				t.Fatalf("finishing without rollback: %v", err)
			}
			if _, err := l.DecideNoRollback(as("omar"), run.ID, "   "); fairway.ErrorCode(err) != fairway.EINVALID {
				t.Fatalf("decision without a reason: %v", err)
			}
			for _, ctx := range []context.Context{as("codex"), withSession(l, "omar")} {
				if _, err := l.DecideNoRollback(ctx, run.ID, "harmless"); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
					t.Fatalf("decision by agent or session: %v, want forbidden", err)
				}
			}
			if way == "rollback" {
				rb := evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("helm", "rollback"), "rolled back\n")
				must(move(l, "codex", run.ID, fairway.StageRollback, fairway.StagePassed, rb))
			} else {
				got := must(l.DecideNoRollback(as("omar"), run.ID, "smoke failure is a probe bug; service healthy"))
				if got.NoRollback == nil || got.NoRollback.By != "omar" {
					t.Fatalf("decision = %+v", got.NoRollback)
				}
			}
			done := must(move(l, "codex", run.ID, fairway.StageFollowUp, fairway.StagePassed))
			if done.State != fairway.DeployFailed || done.FinishedAt.IsZero() {
				t.Fatalf("finished run = %s at %s, want failed", done.State, done.FinishedAt)
			}
			if _, err := move(l, "codex", run.ID, fairway.StageRollback, fairway.StageSkipped); fairway.ErrorCode(err) != fairway.ECONFLICT {
				t.Fatalf("moving a finished run: %v", err)
			}
		})
	}
	l := deployLedger(t, "")
	run := passToSmoke(t, l)
	if _, err := l.DecideNoRollback(as("omar"), run.ID, "nothing failed"); fairway.ErrorCode(err) != fairway.ECONFLICT {
		t.Fatalf("decision with nothing failed: %v", err)
	}
}

// finishWell moves a dev run through every stage, recording findings at
// follow-up.
func finishWell(t *testing.T, l *ledger.Ledger, findings ...string) *fairway.DeployRun {
	t.Helper()
	run := passToSmoke(t, l)
	smoke := evidence(t, l, "OPS-DEPLOY-001", "smoke", passing("smoke", "auth"), "200\n")
	must(move(l, "codex", run.ID, fairway.StageSmoke, fairway.StagePassed, smoke))
	must(move(l, "codex", run.ID, fairway.StageUAT, fairway.StagePassed, smoke))
	return must(l.MoveStage(as("codex"), fairway.StageMove{Run: run.ID, Stage: fairway.StageFollowUp, Status: fairway.StagePassed, Findings: findings}))
}

// Each finding at follow-up becomes a scoped, non-mutating task in the
// run's lane, linked to the run.
func TestDeploy_FindingsBecomeFollowUpTasks(t *testing.T) {
	l := deployLedger(t, "")
	run := finishWell(t, l, "billing read model lags 30s", "terminal connect needs a retry")
	if run.State != fairway.DeploySucceeded {
		t.Fatalf("state %s", run.State)
	}
	if len(run.FollowUps) != 2 || run.FollowUps[0] != "OPS-FIX-001" || run.FollowUps[1] != "OPS-FIX-002" {
		t.Fatalf("follow-ups = %v", run.FollowUps)
	}
	task := must(l.GetTask(context.Background(), "OPS-FIX-002"))
	if task.Lane != "closeout" || task.Mutating || task.Status != fairway.StatusOpen || !strings.Contains(task.Scope.Text, "terminal connect needs a retry") ||
		!strings.Contains(task.Title, "deploy-run 1") || len(task.Labels) != 1 || task.Labels[0] != "follow-up" || task.Creator != "codex" {
		t.Fatalf("follow-up task = %+v", task)
	}
	if _, err := l.MoveStage(as("codex"), fairway.StageMove{Run: run.ID, Stage: fairway.StageUAT, Status: fairway.StagePassed, Findings: []string{"x"}}); fairway.ErrorCode(err) != fairway.EINVALID {
		t.Fatalf("findings on uat: %v", err)
	}
}

// A task whose policy requires a deploy-run passes its gate only when the
// newest finished run succeeded.
func TestDeploy_GateNeedsARunThatFinishedWell(t *testing.T) {
	l := deployLedger(t, "")
	req := func() fairway.Requirement {
		for _, r := range must(l.ExplainGate(context.Background(), "OPS-DEPLOY-001")).Requirements {
			if r.ID == "deploy-run:dev" {
				return r
			}
		}
		t.Fatal("no deploy-run:dev requirement")
		return fairway.Requirement{}
	}
	if r := req(); r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Remedy, "fairway deploy start --task OPS-DEPLOY-001 --env dev") {
		t.Fatalf("before any run: %+v", r)
	}
	run := passToSmoke(t, l)
	if r := req(); r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Detail, "deploy-run 1 is running") {
		t.Fatalf("while running: %+v", r)
	}
	must(move(l, "codex", run.ID, fairway.StageSmoke, fairway.StageSkipped))
	must(move(l, "codex", run.ID, fairway.StageUAT, fairway.StageSkipped))
	must(move(l, "codex", run.ID, fairway.StageFollowUp, fairway.StagePassed))
	if r := req(); r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Detail, "deploy-run in dev, 1, failed") {
		t.Fatalf("skipped smoke and UAT count as finished well: %+v", r)
	}
	finishWell(t, l)
	if r := req(); r.State != fairway.ReqSatisfied || !strings.Contains(r.Detail, "deploy-run 2 of 0123abcd in dev succeeded") {
		t.Fatalf("after a good run: %+v", r)
	}
	// A later failure undoes the earlier success.
	bad := start(t, l, "dev")
	must(move(l, "codex", bad.ID, fairway.StageCI, fairway.StageFailed))
	for _, s := range []string{fairway.StageDeploy, fairway.StageSmoke, fairway.StageUAT, fairway.StageFollowUp} {
		must(move(l, "codex", bad.ID, s, fairway.StageSkipped))
	}
	if r := req(); r.State != fairway.ReqUnsatisfied {
		t.Fatalf("after a later failed run: %+v", r)
	}
}

// TestDeploy_EvidenceOfAnotherRunPassesNoStage: a stage passes on
// evidence of its own run. Before, the smoke log a run failed on passed
// the smoke stage of the next run, of another commit, and the gate took
// that run as finished well.
func TestDeploy_EvidenceOfAnotherRunPassesNoStage(t *testing.T) {
	l := deployLedger(t, "")
	first := start(t, l, "dev")
	ci := evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("make", "ci"), "ok\n")
	dep := evidence(t, l, "OPS-DEPLOY-001", "log", nil, "helm upgrade: revision 7\n")
	smoke := evidence(t, l, "OPS-DEPLOY-001", "smoke", nil, "terminal connect: 4 checks, 3 failed\n")
	must(move(l, "codex", first.ID, fairway.StageCI, fairway.StagePassed, ci))
	must(move(l, "codex", first.ID, fairway.StageDeploy, fairway.StagePassed, dep))
	must(move(l, "codex", first.ID, fairway.StageSmoke, fairway.StageFailed, smoke))

	second := start(t, l, "dev")
	for _, c := range []struct {
		stage, ev, want string
	}{
		{fairway.StageCI, ci, ci + " is evidence of stage ci of deploy-run " + strconv.FormatInt(first.ID, 10) + " (passed there); a stage passes on evidence of its own run"},
	} {
		_, err := move(l, "codex", second.ID, c.stage, fairway.StagePassed, c.ev)
		if fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s on another run's evidence: %v, want invalid saying %q", c.stage, err, c.want)
		}
	}
	must(move(l, "codex", second.ID, fairway.StageCI, fairway.StagePassed, evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("make", "ci"), "ok again\n")))
	must(move(l, "codex", second.ID, fairway.StageDeploy, fairway.StagePassed, evidence(t, l, "OPS-DEPLOY-001", "log", nil, "helm upgrade: revision 8\n")))
	_, err := move(l, "codex", second.ID, fairway.StageSmoke, fairway.StagePassed, smoke)
	if want := smoke + " is evidence of stage smoke of deploy-run " + strconv.FormatInt(first.ID, 10) + " (failed there)"; fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), want) {
		t.Fatalf("smoke on the log the first run failed on: %v, want invalid saying %q", err, want)
	}
}

// TestDeploy_ProtectedDeployNeedsAnApprovalOfItsRun: a run names the
// commit and artifacts it deploys when it starts, and no approval of
// the task binds them. Before, an approval given before the run started
// let an agent start a production run of any commit and pass its deploy
// stage: the approval never saw what went out. A protected deploy stage
// counts approvals made once its run had started, and says so.
func TestDeploy_ProtectedDeployNeedsAnApprovalOfItsRun(t *testing.T) {
	l := deployLedger(t, windowOpen)
	ci := evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("make", "ci"), "ok\n")
	evidence(t, l, "OPS-DEPLOY-001", "rollback-plan", nil, "redeploy the previous image digest\n")
	must(l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-DEPLOY-001", Domain: "ops", Verdict: fairway.VerdictApproved}))
	run := start(t, l, "production")
	must(move(l, "codex", run.ID, fairway.StageCI, fairway.StagePassed, ci))
	_, err := move(l, "codex", run.ID, fairway.StageDeploy, fairway.StageRunning)
	if want := "approvals made before deploy-run " + strconv.FormatInt(run.ID, 10) + " started do not count for its deploy"; fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), want) {
		t.Fatalf("a production deploy on an approval older than its run: %v, want forbidden saying %q", err, want)
	}
	must(l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-DEPLOY-001", Domain: "ops", Verdict: fairway.VerdictApproved}))
	must(move(l, "codex", run.ID, fairway.StageDeploy, fairway.StageRunning))
}

// TestDeploy_RunWhoseCIRanAtAnotherCommitDoesNotFinishWell: a run
// deploys one commit, and the gate counts it as finished well only when
// the commands its ci stage cites ran at that commit. Before, a CI run
// recorded at an older commit passed the ci stage of a run of a newer
// one, and the run satisfied the task's deploy-run requirement as if the
// newer commit had been tested. A stage still records what it cites; a
// command that names no commit, and a file's record, are judged as
// before.
func TestDeploy_RunWhoseCIRanAtAnotherCommitDoesNotFinishWell(t *testing.T) {
	l := deployLedger(t, "")
	ranAt := func(commit string) string {
		e, err := l.AddEvidence(as("codex"), fairway.EvidenceAdd{Task: "OPS-DEPLOY-001", Kind: "command-result", Command: passing("make", "ci"),
			Source: &fairway.SourceState{Commit: commit}}, fairway.EvidenceParts{Content: strings.NewReader("ok " + commit + "\n")})
		if err != nil {
			t.Fatal(err)
		}
		return e.ID
	}
	finish := func(ci string) *fairway.DeployRun {
		run := start(t, l, "dev") // commit 0123abcd
		must(move(l, "codex", run.ID, fairway.StageCI, fairway.StagePassed, ci))
		for _, s := range []string{fairway.StageDeploy, fairway.StageSmoke, fairway.StageUAT} {
			must(move(l, "codex", run.ID, s, fairway.StagePassed, evidence(t, l, "OPS-DEPLOY-001", "log", nil, s+" ok\n")))
		}
		return must(move(l, "codex", run.ID, fairway.StageFollowUp, fairway.StagePassed))
	}
	old := ranAt("ffee0011" + strings.Repeat("0", 32))
	run := finish(old)
	r := requirementOf(t, l, "OPS-DEPLOY-001", "deploy-run:dev")
	want := "its ci stage cites " + old + ", which ran at commit ffee0011" + strings.Repeat("0", 32) + ", not 0123abcd"
	if r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Detail, want) || !strings.Contains(r.Remedy, "fairway deploy start --task OPS-DEPLOY-001 --env dev") {
		t.Fatalf("a run whose CI ran at another commit: got %s %q remedy %q, want unsatisfied saying %q", r.State, r.Detail, r.Remedy, want)
	}
	if run.State != fairway.DeploySucceeded {
		t.Fatalf("the run's own record changed: %s", run.State)
	}
	// CI at the run's commit, written in full or short, counts.
	finish(ranAt("0123ABCD" + strings.Repeat("9", 32)))
	if r := requirementOf(t, l, "OPS-DEPLOY-001", "deploy-run:dev"); r.State != fairway.ReqSatisfied {
		t.Fatalf("a run whose CI ran at its commit: got %s %q, want satisfied", r.State, r.Detail)
	}
}

// A rollback stage passes only on a record of the rollback: not on what
// another stage of the same run cites (the CI that passed, the smoke
// that failed), and not on a record made before the deploy it would
// undo. Otherwise an agent could finish a run whose smoke failed with
// neither a rollback nor a human's decision not to roll back.
func TestDeploy_RollbackPassesOnlyOnARecordOfTheRollback(t *testing.T) {
	l := deployLedger(t, "")
	run := start(t, l, "dev")
	early := evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("helm", "rollback"), "rolled back\n")
	ci := evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("make", "ci"), "ok\n")
	must(move(l, "codex", run.ID, fairway.StageCI, fairway.StagePassed, ci))
	must(move(l, "codex", run.ID, fairway.StageDeploy, fairway.StagePassed, ci))
	smoke := evidence(t, l, "OPS-DEPLOY-001", "smoke", ran(1, "smoke", "auth"), "401\n")
	must(move(l, "codex", run.ID, fairway.StageSmoke, fairway.StageFailed, smoke))
	must(move(l, "codex", run.ID, fairway.StageUAT, fairway.StageSkipped))
	for what, c := range map[string]struct{ ev, want string }{
		"the ci stage's record":          {ci, "is cited by stage ci of deploy-run"},
		"a record older than the deploy": {early, "before the deploy stage"},
	} {
		before := auditLen(t, l)
		_, err := move(l, "codex", run.ID, fairway.StageRollback, fairway.StagePassed, c.ev)
		if fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("rollback passed on %s: %v, want invalid containing %q", what, err, c.want)
		}
		if got := auditLen(t, l); got != before+1 {
			t.Fatalf("rollback on %s: %d audit events, want its refusal only", what, got-before)
		}
	}
	if _, err := move(l, "codex", run.ID, fairway.StageFollowUp, fairway.StagePassed); fairway.ErrorCode(err) != fairway.ECONFLICT {
		t.Fatalf("finishing after refused rollbacks: %v, want conflict", err)
	}
	rb := evidence(t, l, "OPS-DEPLOY-001", "command-result", passing("helm", "rollback"), "rolled back\n")
	must(move(l, "codex", run.ID, fairway.StageRollback, fairway.StagePassed, rb))
	if done := must(move(l, "codex", run.ID, fairway.StageFollowUp, fairway.StagePassed)); done.State != fairway.DeployFailed {
		t.Fatalf("finished run = %s, want failed", done.State)
	}
}

// A rollback that failed leaves the broken deploy in place: the run
// finishes only once a human decided what now, as when nothing was
// rolled back; an agent's word that it tried is not enough.
func TestDeploy_FailedRollbackNeedsAHumansDecision(t *testing.T) {
	l := deployLedger(t, "")
	run := passToSmoke(t, l)
	smoke := evidence(t, l, "OPS-DEPLOY-001", "smoke", ran(1, "smoke", "auth"), "401\n")
	must(move(l, "codex", run.ID, fairway.StageSmoke, fairway.StageFailed, smoke))
	must(move(l, "codex", run.ID, fairway.StageUAT, fairway.StageSkipped))
	must(move(l, "codex", run.ID, fairway.StageRollback, fairway.StageFailed))
	_, err := move(l, "codex", run.ID, fairway.StageFollowUp, fairway.StagePassed)
	if fairway.ErrorCode(err) != fairway.ECONFLICT || !strings.Contains(err.Error(), "its rollback failed too") {
		t.Fatalf("finishing after a failed rollback: %v, want conflict naming the failed rollback", err)
	}
	must(l.DecideNoRollback(as("omar"), run.ID, "rollback blocked by a migration; fixing forward"))
	if done := must(move(l, "codex", run.ID, fairway.StageFollowUp, fairway.StagePassed)); done.State != fairway.DeployFailed {
		t.Fatalf("finished run = %s, want failed", done.State)
	}
}

// TestDeploy_RunWhoseCIRanOnAChangedCheckoutDoesNotFinishWell: CI that
// ran at the run's commit with tracked files changed tested something
// other than that commit, so the run does not count as finished well.
func TestDeploy_RunWhoseCIRanOnAChangedCheckoutDoesNotFinishWell(t *testing.T) {
	l := deployLedger(t, "")
	e, err := l.AddEvidence(as("codex"), fairway.EvidenceAdd{Task: "OPS-DEPLOY-001", Kind: "command-result", Command: passing("make", "ci"),
		Source: &fairway.SourceState{Commit: "0123abcd" + strings.Repeat("9", 32), Dirty: true}}, fairway.EvidenceParts{Content: strings.NewReader("ok\n")})
	if err != nil {
		t.Fatal(err)
	}
	run := start(t, l, "dev") // commit 0123abcd
	must(move(l, "codex", run.ID, fairway.StageCI, fairway.StagePassed, e.ID))
	for _, s := range []string{fairway.StageDeploy, fairway.StageSmoke, fairway.StageUAT} {
		must(move(l, "codex", run.ID, s, fairway.StagePassed, evidence(t, l, "OPS-DEPLOY-001", "log", nil, s+" ok\n")))
	}
	must(move(l, "codex", run.ID, fairway.StageFollowUp, fairway.StagePassed))
	r := requirementOf(t, l, "OPS-DEPLOY-001", "deploy-run:dev")
	if want := "with changes to tracked files"; r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Detail, want) {
		t.Fatalf("a run whose CI ran on a changed checkout: got %s %q, want unsatisfied saying %q", r.State, r.Detail, want)
	}
}
