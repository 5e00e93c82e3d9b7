package ledger

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"fairway"
	"fairway/policy"
)

// StartDeploy opens a deploy-run of a task in an environment the policy
// in force declares, every stage pending.
func (l *Ledger) StartDeploy(ctx context.Context, in fairway.DeployStart) (*fairway.DeployRun, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(in); err != nil {
		return nil, err
	}
	var out *fairway.DeployRun
	err := l.write(ctx, "deploy.start", in.Task, func(w *write) error {
		if err := w.onTask(in.Task); err != nil {
			return err
		}
		task, err := w.tx.Task(in.Task)
		if err != nil {
			return err
		}
		if fairway.IsTerminal(task.Status) {
			return fairway.Errorf(fairway.ECONFLICT, "task %s is %s; open deploy-runs on a task that is not finished", task.Key, task.Status)
		}
		p, _, err := l.activePolicy(w.tx)
		if err != nil {
			return err
		}
		env, err := environmentOf(p, in.Environment, "environment")
		if err != nil {
			return err
		}
		out = &fairway.DeployRun{Task: task.Key, Environment: in.Environment, Class: env.Class, Protected: env.Protected,
			Commit: in.Commit, Artifacts: in.Artifacts, State: fairway.DeployRunning, StartedBy: w.by.Name, StartedAt: w.now}
		for _, s := range fairway.DeployStages {
			out.Stages = append(out.Stages, &fairway.DeployStage{Name: s, Status: fairway.StagePending})
		}
		if err := w.tx.InsertDeployRun(out); err != nil {
			return err
		}
		return w.record(out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// environmentOf finds an environment of the policy in force.
func environmentOf(p *policy.Policy, name, field string) (*policy.Environment, error) {
	if p == nil {
		return nil, fairway.Errorf(fairway.ECONFLICT, "no governance policy is in force, so no environment is declared; bootstrap one with `fairway policy apply FILE`")
	}
	env := p.Environments[name]
	if env == nil {
		names := make([]string, 0, len(p.Environments))
		for n := range p.Environments {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fairway.FieldError(field, "environment %q is not declared by the policy in force; declared: %s", name, orNone(strings.Join(names, ", ")))
	}
	return env, nil
}

// MoveStage moves one stage of a run. Stages move in order; a stage's
// outcome, once recorded, never changes. A passed stage needs evidence
// that shows success; a deploy stage in a protected environment needs
// the change class's approvals, its rollback criteria and an open
// approval window (R5); the run finishes when its follow-up stage does,
// and not before a failed smoke or UAT is rolled back or a human decided
// not to.
func (l *Ledger) MoveStage(ctx context.Context, in fairway.StageMove) (*fairway.DeployRun, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(in); err != nil {
		return nil, err
	}
	blobs, err := l.stageBlobs(ctx, in)
	if err != nil {
		return nil, err
	}
	var out *fairway.DeployRun
	err = l.write(ctx, "deploy.stage", fmt.Sprintf("deploy-run:%d", in.Run), func(w *write) error {
		run, err := w.tx.DeployRun(in.Run)
		if err != nil {
			return err
		}
		if err := w.onTask(run.Task); err != nil {
			return err
		}
		task, err := w.tx.Task(run.Task)
		if err != nil {
			return err
		}
		if run.State != fairway.DeployRunning {
			return fairway.Errorf(fairway.ECONFLICT, "deploy-run %d finished (%s) at %s; start a new run", run.ID, run.State, run.FinishedAt.Format(time.RFC3339))
		}
		st := run.Stage(in.Stage)
		if fairway.IsTerminalStage(st.Status) {
			return fairway.Errorf(fairway.ECONFLICT, "stage %s of deploy-run %d is already %s (moved by %s at %s); a stage's outcome never changes: start a new run",
				st.Name, run.ID, st.Status, st.By, st.At.Format(time.RFC3339))
		}
		if st.Status == in.Status {
			return fairway.Errorf(fairway.ECONFLICT, "stage %s of deploy-run %d is already %s", st.Name, run.ID, st.Status)
		}
		f, err := l.gatherFacts(w.tx, task)
		if err != nil {
			return err
		}
		f.blobs = blobs
		env, err := environmentOf(f.policy, run.Environment, "run")
		if err != nil {
			return err
		}
		if err := stageOrder(run, in); err != nil {
			return w.refuse(err)
		}
		if err := l.stageEvidence(w, f, run, in); err != nil {
			return err
		}
		if in.Stage == fairway.StageDeploy && in.Status != fairway.StageSkipped && env.Protected {
			if err := l.protectedDeploy(w, f, run, env); err != nil {
				return err
			}
		}
		var created []string
		if in.Stage == fairway.StageFollowUp {
			if created, err = l.followUps(w, task, run, in.Findings); err != nil {
				return err
			}
		}
		st.Status, st.Evidence, st.Note, st.By, st.ByKind, st.At = in.Status, in.Evidence, in.Note, w.by.Name, w.by.Kind, w.now
		if in.Stage == fairway.StageFollowUp && fairway.IsTerminalStage(in.Status) {
			run.State, run.FinishedAt = outcome(run), w.now
		}
		if err := w.tx.UpdateDeployRun(run); err != nil {
			return err
		}
		out = run
		return w.record(map[string]any{"run": run.ID, "task": run.Task, "stage": st, "state": run.State, "follow_ups": created})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// stageOrder refuses a move out of order: the main stages run one after
// another (an earlier one passed or skipped), a rollback needs something
// deployed, and the run ends only once every main stage has an outcome
// and a failed smoke or UAT was rolled back or a human decided not to.
func stageOrder(run *fairway.DeployRun, in fairway.StageMove) *fairway.Error {
	if in.Status == fairway.StageSkipped && in.Stage != fairway.StageFollowUp {
		return nil
	}
	switch i := slices.Index(fairway.MainStages, in.Stage); {
	case i >= 0:
		for _, prev := range fairway.MainStages[:i] {
			if s := run.Stage(prev); s.Status != fairway.StagePassed && s.Status != fairway.StageSkipped {
				return fairway.Errorf(fairway.ECONFLICT, "stage %s of deploy-run %d cannot run: stage %s is %s and must pass (or be skipped) first", in.Stage, run.ID, prev, s.Status)
			}
		}
	case in.Stage == fairway.StageRollback:
		if s := run.Stage(fairway.StageDeploy); s.Status == fairway.StagePending || s.Status == fairway.StageSkipped {
			return fairway.Errorf(fairway.ECONFLICT, "deploy-run %d has nothing to roll back: its deploy stage is %s", run.ID, s.Status)
		}
	case in.Stage == fairway.StageFollowUp:
		var open []string
		for _, name := range fairway.MainStages {
			if s := run.Stage(name); !fairway.IsTerminalStage(s.Status) {
				open = append(open, name+" is "+s.Status)
			}
		}
		if len(open) > 0 {
			return fairway.Errorf(fairway.ECONFLICT, "deploy-run %d cannot reach follow-up: %s; record their outcome (or skip them with a note)", run.ID, strings.Join(open, ", "))
		}
		failed := failedChecks(run)
		if len(failed) > 0 && run.NoRollback == nil && run.Stage(fairway.StageRollback).Status == fairway.StageFailed {
			// The broken deploy stays in place: a human decides what now.
			return fairway.Errorf(fairway.ECONFLICT, "deploy-run %d cannot finish: %s failed and its rollback failed too, so what it deployed is still in place; a human decides what now (`fairway deploy no-rollback %d --reason TEXT`)",
				run.ID, strings.Join(failed, " and "), run.ID)
		}
		if len(failed) > 0 && !rolledBack(run) && run.NoRollback == nil {
			return fairway.Errorf(fairway.ECONFLICT, "deploy-run %d cannot finish: %s failed, so it needs a rollback stage (`fairway deploy stage %d rollback --status passed --evidence EV-…`) or a human's decision not to roll back (`fairway deploy no-rollback %d --reason TEXT`)",
				run.ID, strings.Join(failed, " and "), run.ID, run.ID)
		}
	}
	return nil
}

// failedChecks names the run's failed smoke and UAT stages.
func failedChecks(run *fairway.DeployRun) []string {
	var out []string
	for _, name := range []string{fairway.StageSmoke, fairway.StageUAT} {
		if run.Stage(name).Status == fairway.StageFailed {
			out = append(out, name)
		}
	}
	return out
}

// rolledBack reports whether a rollback was attempted: it has an
// outcome other than skipped.
func rolledBack(run *fairway.DeployRun) bool {
	s := run.Stage(fairway.StageRollback).Status
	return s == fairway.StagePassed || s == fairway.StageFailed
}

// outcome is how a finished run ended: succeeded only when every main
// stage passed and nothing was rolled back.
func outcome(run *fairway.DeployRun) string {
	for _, name := range fairway.MainStages {
		if run.Stage(name).Status != fairway.StagePassed {
			return fairway.DeployFailed
		}
	}
	if rolledBack(run) {
		return fairway.DeployFailed
	}
	return fairway.DeploySucceeded
}

// stageEvidence checks the evidence a move cites: the run's task's,
// proof (never a transcript), and, for a passed stage, at least one
// piece, each intact and showing success as the gate judges it (R3).
// Follow-up checks nothing: it records findings and ends the run.
func (l *Ledger) stageEvidence(w *write, f *facts, run *fairway.DeployRun, in fairway.StageMove) error {
	if in.Status == fairway.StagePassed && len(in.Evidence) == 0 && in.Stage != fairway.StageFollowUp {
		return w.refuse(fairway.FieldError("evidence", "a passed stage needs evidence that shows success: record it (`fairway run --task %s -- CMD`) and pass --evidence EV-…", run.Task))
	}
	for _, id := range in.Evidence {
		e, err := w.tx.Evidence(id)
		if fairway.ErrorCode(err) == fairway.ENOTFOUND {
			return fairway.FieldError("evidence", "evidence %s does not exist", id)
		} else if err != nil {
			return err
		}
		if e.Task != run.Task {
			return w.refuse(fairway.FieldError("evidence", "%s is evidence of %s, not of %s, the task of deploy-run %d", e.ID, e.Task, run.Task, run.ID))
		}
		if !fairway.CountsAsProof(e) {
			return w.refuse(fairway.FieldError("evidence", "%s is %s evidence, which never proves a stage (R11)", e.ID, e.Kind))
		}
		if in.Status != fairway.StagePassed {
			continue
		}
		if other, stage, err := stageOfAnotherRun(w.tx, run, e.ID); err != nil {
			return err
		} else if other != nil {
			return w.refuse(fairway.FieldError("evidence", "%s is evidence of stage %s of deploy-run %d (%s there); a stage passes on evidence of its own run: record it again for commit %s",
				e.ID, stage.Name, other.ID, stage.Status, run.Commit))
		}
		if in.Stage == fairway.StageRollback {
			if err := rollbackRecord(w, run, e); err != nil {
				return err
			}
		}
		if problem := f.blobs.problem(e); problem != "" {
			return w.refuse(fairway.FieldError("evidence", "%s; a stage passes only on intact evidence", problem))
		}
		if v := judge(e, f.policy.SuccessOf(e.Kind)); !v.ok {
			return w.refuse(fairway.FieldError("evidence", "%s %s: failing evidence cannot pass stage %s; record it as --status failed, or %s", e.ID, v.failure, in.Stage, v.remedy))
		}
		// A watched run's end satisfies a monitor however it ended; a
		// stage passes only on a run that succeeded.
		if sm := e.Summary; sm != nil && sm.Format == "ci-run" && sm.Conclusion != "success" {
			return w.refuse(fairway.FieldError("evidence", "%s: the watched run concluded %s, and a run that did not succeed cannot pass stage %s; record it as --status failed, or fix what failed and cite the record of a run that succeeded",
				e.ID, sm.Conclusion, in.Stage))
		}
	}
	return nil
}

// rollbackRecord refuses, for a passed rollback, evidence that cannot be
// a record of rolling back this run's deploy: what another stage of the
// run cites (the CI that passed, the smoke that failed), or a record made
// before the deploy stage moved. A passed rollback lets a run whose smoke
// or UAT failed finish without a human's decision not to roll back.
func rollbackRecord(w *write, run *fairway.DeployRun, e *fairway.Evidence) error {
	for _, st := range run.Stages {
		if st.Name != fairway.StageRollback && slices.Contains(st.Evidence, e.ID) {
			return w.refuse(fairway.FieldError("evidence", "%s is cited by stage %s of deploy-run %d (%s there), so it is no record of a rollback; roll back, record it (`fairway run --task %s -- CMD`) and cite that record, or ask a human to decide not to roll back (`fairway deploy no-rollback %d --reason TEXT`)",
				e.ID, st.Name, run.ID, st.Status, run.Task, run.ID))
		}
	}
	if dep := run.Stage(fairway.StageDeploy); e.RecordedAt.Before(dep.At) {
		return w.refuse(fairway.FieldError("evidence", "%s was recorded at %s, before the deploy stage of deploy-run %d moved (%s at %s), so it cannot show that deploy rolled back; roll back, record it (`fairway run --task %s -- CMD`) and cite that record",
			e.ID, e.RecordedAt.UTC().Format(time.RFC3339Nano), run.ID, dep.Status, dep.At.UTC().Format(time.RFC3339Nano), run.Task))
	}
	return nil
}

// stageOfAnotherRun finds a run of the same task, other than run, one
// of whose stages cites evidence id, and that stage: evidence proves
// the run it was recorded for, and a record a run failed on must not
// pass the next one.
func stageOfAnotherRun(tx fairway.Tx, run *fairway.DeployRun, id string) (*fairway.DeployRun, *fairway.DeployStage, error) {
	runs, err := tx.DeployRuns(fairway.DeployFilter{Task: run.Task})
	if err != nil {
		return nil, nil, err
	}
	for _, other := range runs {
		if other.ID == run.ID {
			continue
		}
		for _, st := range other.Stages {
			if slices.Contains(st.Evidence, id) {
				return other, st, nil
			}
		}
	}
	return nil, nil, nil
}

// protectedDeploy refuses a deploy stage in a protected environment that
// lacks any of its controls, naming every one missing (R5): the change
// class's approvals, made since the run started (so they saw the commit
// it deploys), its rollback criteria, an open approval window.
func (l *Ledger) protectedDeploy(w *write, f *facts, run *fairway.DeployRun, env *policy.Environment) error {
	class := env.DeployClass()
	pc := f.policy.ProtectedClasses[class]
	// The run named its commit and artifacts when it started, and no
	// task snapshot binds them: only an approval made since saw what
	// this deploy sends out.
	ofRun := *f
	ofRun.reviews = nil
	early := map[string]bool{}
	for _, rv := range f.reviews {
		if rv.Verdict == fairway.VerdictApproved && rv.At.Before(run.StartedAt) {
			early[rv.Domain] = true
			continue
		}
		ofRun.reviews = append(ofRun.reviews, rv)
	}
	var missing []string
	for _, d := range pc.Approvals {
		n := &policy.Need{ID: policy.NeedReview + ":" + d, Kind: policy.NeedReview, Name: d, MinApprovals: f.policy.MinApprovals(d),
			RequireMFA: f.policy.RequiresMFA(d), Protected: true}
		if r := l.reviewRequirement(&ofRun, n); r.State != fairway.ReqSatisfied {
			if early[d] {
				r.Detail += fmt.Sprintf("; approvals made before deploy-run %d started do not count for its deploy: they did not see commit %s", run.ID, run.Commit)
			}
			missing = append(missing, fmt.Sprintf("the %s approval of %s (%s; %s)", class, d, r.Detail, r.Remedy))
		}
	}
	n := &policy.Need{ID: policy.NeedEvidence + ":" + pc.RollbackEvidence, Kind: policy.NeedEvidence, Name: pc.RollbackEvidence, Protected: true}
	r, err := l.evidenceRequirement(w.tx, f, n)
	if err != nil {
		return err
	}
	if r.State != fairway.ReqSatisfied {
		missing = append(missing, fmt.Sprintf("recorded rollback criteria (%s; %s)", r.Detail, r.Remedy))
	}
	switch open, next := env.WindowAt(w.now); {
	case open != nil:
	case next != nil:
		missing = append(missing, fmt.Sprintf("an open approval window: none is open now (%s); the next opens at %s and closes at %s",
			w.now.Format(time.RFC3339), next.Start.UTC().Format(time.RFC3339), next.End.UTC().Format(time.RFC3339)))
	default:
		missing = append(missing, fmt.Sprintf("an open approval window: the policy declares none ahead for %s; one is added by a governed policy change", run.Environment))
	}
	if len(missing) == 0 {
		return nil
	}
	return w.refuse(fairway.Errorf(fairway.EFORBIDDEN, "the deploy stage of deploy-run %d goes to protected environment %s (change class %s) and is missing: %s",
		run.ID, run.Environment, class, strings.Join(missing, "; ")))
}

// followUps turns each finding into a scoped, non-mutating follow-up
// task in the run's lane, linked to the run.
func (l *Ledger) followUps(w *write, task *fairway.Task, run *fairway.DeployRun, findings []string) ([]string, error) {
	var created []string
	for i, finding := range findings {
		key := fmt.Sprintf("%s-FU%d-%d", task.Key, run.ID, len(run.FollowUps)+1)
		if task.Lane != "" {
			lane, err := w.tx.Lane(task.Lane)
			if err != nil {
				return nil, err
			}
			if lane.KeyPrefix != "" {
				if key, err = nextKey(w.tx, lane); err != nil {
					return nil, err
				}
			}
		}
		if len(key) > fairway.MaxKeyLen {
			return nil, fairway.FieldError("findings", "finding %d: the task key %s would be too long; give %s's lane a key prefix", i+1, key, task.Key)
		}
		t := &fairway.Task{Key: key, Title: clipTitle(fmt.Sprintf("Follow-up of deploy-run %d (%s): %s", run.ID, run.Environment, finding)),
			Scope: fairway.Scope{Text: fmt.Sprintf("Finding of deploy-run %d of %s in %s at %s: %s", run.ID, task.Key, run.Environment, run.Commit, finding)},
			Lane:  task.Lane, Creator: w.by.Name, Status: fairway.StatusOpen, Risk: DefaultRisk, Priority: DefaultPriority,
			Labels: []string{"follow-up"}, CreatedAt: w.now, UpdatedAt: w.now}
		if err := w.tx.InsertTask(t); err != nil {
			return nil, err
		}
		if err := w.recordAs("task.create", t.Key, map[string]any{"task": t, "follow_up_of": run.ID}); err != nil {
			return nil, err
		}
		run.FollowUps = append(run.FollowUps, t.Key)
		created = append(created, t.Key)
	}
	return created, nil
}

// clipTitle keeps a generated title within a task title's length.
func clipTitle(s string) string {
	if r := []rune(s); len(r) > 200 {
		return string(r[:199]) + "…"
	}
	return s
}

// DecideNoRollback records a human's decision not to roll back a run
// whose smoke or UAT failed (R1: a decision, so humans only).
func (l *Ledger) DecideNoRollback(ctx context.Context, id int64, reason string) (*fairway.DeployRun, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, fairway.FieldError("reason", "is required: say why the run is not rolled back")
	}
	if err := fairway.CheckText("reason", reason, 4000); err != nil {
		return nil, err
	}
	if err := refuseSecretText(struct {
		Reason string `json:"reason"`
	}{reason}); err != nil {
		return nil, err
	}
	var out *fairway.DeployRun
	err := l.write(ctx, "deploy.no-rollback", fmt.Sprintf("deploy-run:%d", id), func(w *write) error {
		run, err := w.tx.DeployRun(id)
		if err != nil {
			return err
		}
		if err := w.onTask(run.Task); err != nil {
			return err
		}
		if err := w.requireHuman("decide not to roll back a deploy-run", "Agents record stages; a human decides"); err != nil {
			return err
		}
		if run.State != fairway.DeployRunning {
			return fairway.Errorf(fairway.ECONFLICT, "deploy-run %d finished (%s); nothing to decide", run.ID, run.State)
		}
		if len(failedChecks(run)) == 0 {
			return fairway.Errorf(fairway.ECONFLICT, "neither smoke nor UAT of deploy-run %d failed; there is nothing to decide about a rollback", run.ID)
		}
		if run.NoRollback != nil {
			return fairway.Errorf(fairway.ECONFLICT, "%s already decided not to roll back deploy-run %d at %s", run.NoRollback.By, run.ID, run.NoRollback.At.Format(time.RFC3339))
		}
		run.NoRollback = &fairway.Decision{By: w.by.Name, Reason: reason, At: w.now}
		if err := w.tx.UpdateDeployRun(run); err != nil {
			return err
		}
		out = run
		return w.record(map[string]any{"run": run.ID, "task": run.Task, "decision": run.NoRollback})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetDeployRun returns one run.
func (l *Ledger) GetDeployRun(ctx context.Context, id int64) (*fairway.DeployRun, error) {
	var out *fairway.DeployRun
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		out, err = tx.DeployRun(id)
		return err
	})
	return out, err
}

// ListDeployRuns lists runs by task and environment, oldest first.
func (l *Ledger) ListDeployRuns(ctx context.Context, f fairway.DeployFilter) ([]*fairway.DeployRun, error) {
	var out []*fairway.DeployRun
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		out, err = tx.DeployRuns(f)
		return err
	})
	return out, err
}

// stageBlobs stats, before the write's transaction, the bytes a move
// reads: the evidence it cites and, for a deploy to a protected
// environment, the task's rollback criteria.
func (l *Ledger) stageBlobs(ctx context.Context, in fairway.StageMove) (*blobCheck, error) {
	var lists [][]*fairway.Evidence
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		lists = lists[:0]
		run, err := tx.DeployRun(in.Run)
		if fairway.ErrorCode(err) == fairway.ENOTFOUND {
			return nil // the write says so
		} else if err != nil {
			return err
		}
		for _, id := range in.Evidence {
			if e, err := tx.Evidence(id); err == nil {
				lists = append(lists, []*fairway.Evidence{e})
			}
		}
		p, _, err := l.activePolicy(tx)
		if err != nil || p == nil || in.Stage != fairway.StageDeploy {
			return err
		}
		env := p.Environments[run.Environment]
		if env == nil || !env.Protected || p.ProtectedClasses[env.DeployClass()] == nil {
			return nil
		}
		list, err := tx.LatestProof(run.Task, p.ProtectedClasses[env.DeployClass()].RollbackEvidence)
		if err != nil {
			return err
		}
		lists = append(lists, slices.DeleteFunc(list, func(e *fairway.Evidence) bool { return !fairway.CountsAsProof(e) }))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l.statProof(ctx, lists, hashBlobs)
}
