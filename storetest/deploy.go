package storetest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/demo"
)

// testDeployRunRoundTrip: a run and its stages come back as stored; an
// update keeps what the ledger moved and nothing else; lists filter by
// task and environment, oldest first; a missing run is ENOTFOUND.
func testDeployRunRoundTrip(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	newRun := func(task, env string, protected bool) *fairway.DeployRun {
		r := &fairway.DeployRun{Task: task, Environment: env, Class: "production", Protected: protected, Commit: "0123abcd",
			Artifacts: []string{"sha256:ab"}, State: fairway.DeployRunning, StartedBy: "codex", StartedAt: at}
		for _, name := range fairway.DeployStages {
			r.Stages = append(r.Stages, &fairway.DeployStage{Name: name, Status: fairway.StagePending})
		}
		return r
	}
	a := newRun("A-1", "production", true)
	b := newRun("A-1", "dev", false)
	c := newRun("B-1", "dev", false)
	c.Artifacts = nil
	update(t, s, func(tx fairway.Tx) error {
		for _, k := range []string{"A-1", "B-1"} {
			if err := tx.InsertTask(newTask(k, at)); err != nil {
				return err
			}
		}
		for _, r := range []*fairway.DeployRun{a, b, c} {
			if err := tx.InsertDeployRun(r); err != nil {
				return err
			}
		}
		return nil
	})
	if a.ID == 0 || b.ID <= a.ID || c.ID <= b.ID {
		t.Fatalf("InsertDeployRun IDs %d %d %d, want increasing", a.ID, b.ID, c.ID)
	}
	st := a.Stage(fairway.StageSmoke)
	st.Status, st.Evidence, st.Note, st.By, st.ByKind, st.At = fairway.StageFailed, []string{"EV-1", "EV-2"}, "401 on /v1/iam", "codex", fairway.KindAgent, at.Add(time.Minute)
	a.NoRollback = &fairway.Decision{By: "olivia", Reason: "probe bug", At: at.Add(2 * time.Minute)}
	a.FollowUps = []string{"OPS-FIX-001"}
	a.State, a.FinishedAt = fairway.DeployFailed, at.Add(3*time.Minute)
	update(t, s, func(tx fairway.Tx) error { return tx.UpdateDeployRun(a) })
	view(t, s, func(tx fairway.Tx) error {
		got, err := tx.DeployRun(a.ID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("DeployRun = %+v, want %+v", got, a)
		}
		if got, err := tx.DeployRun(c.ID); err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("DeployRun without artifacts = %+v, %v; want %+v", got, err, c)
		}
		for _, f := range []struct {
			filter fairway.DeployFilter
			want   []int64
		}{
			{fairway.DeployFilter{}, []int64{a.ID, b.ID, c.ID}},
			{fairway.DeployFilter{Task: "A-1"}, []int64{a.ID, b.ID}},
			{fairway.DeployFilter{Environment: "dev"}, []int64{b.ID, c.ID}},
			{fairway.DeployFilter{Task: "A-1", Environment: "dev"}, []int64{b.ID}},
			{fairway.DeployFilter{Task: "C-1"}, nil},
		} {
			list, err := tx.DeployRuns(f.filter)
			var ids []int64
			for _, r := range list {
				ids = append(ids, r.ID)
			}
			if err != nil || !reflect.DeepEqual(ids, f.want) {
				t.Errorf("DeployRuns(%+v) = %v, %v; want %v", f.filter, ids, err, f.want)
			}
		}
		_, err = tx.DeployRun(c.ID + 100)
		wantCode(t, err, fairway.ENOTFOUND)
		return nil
	})
	err := s.Update(ctx, func(tx fairway.Tx) error {
		return tx.UpdateDeployRun(&fairway.DeployRun{ID: c.ID + 100, State: fairway.DeployFailed})
	})
	wantCode(t, err, fairway.ENOTFOUND)
}

// testDeployProtected: a deploy stage in a protected environment is
// refused, audited, until the change class's approval and rollback
// criteria are recorded inside an open window; a production run does not
// satisfy a requirement for a dev run.
func testDeployProtected(t *testing.T, e *env) {
	for _, name := range []string{"olivia", "omar"} {
		if _, err := e.l.CreateActor(e.alice, fairway.ActorCreate{Name: name, Kind: fairway.KindHuman}); err != nil {
			t.Fatal(err)
		}
	}
	src := strings.Replace(string(demo.Policy), "    change_class: production-deploy\n",
		"    change_class: production-deploy\n    approval_windows:\n      - {start: 2026-11-01T08:00:00Z, end: 2026-11-01T12:00:00Z}\n", 1)
	if _, err := e.l.BootstrapPolicy(e.alice, "governance.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	e.task(t, "DEPLOY-1", func(c *fairway.TaskCreate) { c.Labels = []string{"dev-deploy"} })
	run, err := e.l.StartDeploy(e.codex, fairway.DeployStart{Task: "DEPLOY-1", Environment: "production", Commit: "0123abcd"})
	if err != nil {
		t.Fatal(err)
	}
	at := e.clock.Now()
	ci, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "DEPLOY-1", Kind: "command-result", Command: &fairway.Command{Argv: []string{"make", "ci"}, ExitCode: 0, Started: at, Ended: at}},
		fairway.EvidenceParts{Content: strings.NewReader("ok\n")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.MoveStage(e.codex, fairway.StageMove{Run: run.ID, Stage: fairway.StageCI, Status: fairway.StagePassed, Evidence: []string{ci.ID}}); err != nil {
		t.Fatal(err)
	}
	before := e.auditSeq(t)
	_, err = e.l.MoveStage(e.codex, fairway.StageMove{Run: run.ID, Stage: fairway.StageDeploy, Status: fairway.StagePassed, Evidence: []string{ci.ID}})
	wantCode(t, err, fairway.EFORBIDDEN)
	if msg := err.Error(); !strings.Contains(msg, "the production-deploy approval of ops") || !strings.Contains(msg, "recorded rollback criteria") || strings.Contains(msg, "window") {
		t.Fatalf("refusal = %s", msg)
	}
	if after := e.auditSeq(t); after != before+1 {
		t.Fatalf("refusal audited %d events", after-before)
	}
	if _, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "DEPLOY-1", Kind: "rollback-plan"}, fairway.EvidenceParts{Content: strings.NewReader("redeploy v41\n")}); err != nil {
		t.Fatal(err)
	}
	e.review(t, as("olivia"), "DEPLOY-1", "ops", fairway.VerdictApproved)
	got, err := e.l.MoveStage(e.codex, fairway.StageMove{Run: run.ID, Stage: fairway.StageDeploy, Status: fairway.StagePassed, Evidence: []string{ci.ID}})
	if err != nil {
		t.Fatalf("deploy with its controls: %v", err)
	}
	if s := got.Stage(fairway.StageDeploy); s.Status != fairway.StagePassed || s.By != "codex" {
		t.Fatalf("deploy stage = %+v", s)
	}
	for _, r := range e.gate(t, "DEPLOY-1").Requirements {
		if r.ID == "deploy-run:dev" && r.State != fairway.ReqUnsatisfied {
			t.Fatalf("a production run satisfied deploy-run:dev: %+v", r)
		}
	}
}
