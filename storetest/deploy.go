package storetest

import (
	"reflect"
	"testing"
	"time"

	"fairway"
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
