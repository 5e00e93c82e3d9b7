package ledger

import (
	"fmt"
	"strings"
	"time"

	"fairway"
	"fairway/policy"
)

// deployRunKind: a deploy-run of the task in an environment that
// finished well (R3), its CI run at the commit it deployed. The newest finished run decides, so a later failure
// undoes an earlier success. Waivable by the policy's waiver domain,
// unless the environment is protected (R5).
var deployRunKind = requirementKind{
	evaluate: (*Ledger).deployRunRequirement,
	waiver:   waiverUnlessProtected,
	request: func(l *Ledger, tx fairway.Tx, p *policy.Policy, in fairway.WaiverRequest) (string, error) {
		return needWaiver(tx, p, in, waiverUnlessProtected)
	},
}

func (l *Ledger) deployRunRequirement(tx fairway.Tx, f *facts, n *policy.Need) (fairway.Requirement, error) {
	r := fairway.Requirement{State: fairway.ReqUnsatisfied}
	runs, err := tx.DeployRuns(fairway.DeployFilter{Task: f.task.Key, Environment: n.Name})
	if err != nil {
		return r, err
	}
	var running []int64
	for i := len(runs) - 1; i >= 0; i-- {
		run := runs[i]
		switch run.State {
		case fairway.DeployRunning:
			running = append(running, run.ID)
			continue
		case fairway.DeploySucceeded:
			off, err := ciOfAnotherCommit(tx, run)
			if err != nil {
				return r, err
			}
			if off != "" {
				r.Detail = fmt.Sprintf("deploy-run %d of %s in %s succeeded, but %s: it does not show that commit tested", run.ID, run.Commit, n.Name, off)
				r.Remedy = fmt.Sprintf("run CI at %s (`fairway run --task %s -- CMD` in a checkout of it) and deploy it in a new run: `fairway deploy start --task %s --env %s --commit %s`",
					run.Commit, f.task.Key, f.task.Key, n.Name, run.Commit)
				break
			}
			r.State = fairway.ReqSatisfied
			r.Detail = fmt.Sprintf("deploy-run %d of %s in %s succeeded at %s", run.ID, run.Commit, n.Name, run.FinishedAt.Format(time.RFC3339))
		default:
			r.Detail = fmt.Sprintf("the newest finished deploy-run in %s, %d, %s", n.Name, run.ID, run.State)
			r.Remedy = fmt.Sprintf("fix what failed and run again: `fairway deploy start --task %s --env %s --commit SHA`", f.task.Key, n.Name)
		}
		if len(running) > 0 {
			r.Detail += fmt.Sprintf("; deploy-run %d is still running", running[0])
		}
		return r, nil
	}
	r.Detail = "no deploy-run in " + n.Name + " has finished"
	if len(running) > 0 {
		r.Detail += fmt.Sprintf("; deploy-run %d is running", running[0])
		r.Remedy = fmt.Sprintf("move deploy-run %d through its stages to follow-up: `fairway deploy show %d`", running[0], running[0])
	} else {
		r.Remedy = fmt.Sprintf("run it: `fairway deploy start --task %s --env %s --commit SHA`", f.task.Key, n.Name)
	}
	return r, nil
}

// ciOfAnotherCommit says which command a run's ci stage cites that ran
// at another commit than the run deploys, or "": CI builds and tests the
// source, so what it proves is of the commit it ran at, and only when
// no tracked file was changed in its checkout. A command that
// names no commit, and a file's record (whose source is only where it
// was recorded from), say nothing of it.
func ciOfAnotherCommit(tx fairway.Tx, run *fairway.DeployRun) (string, error) {
	for _, id := range run.Stage(fairway.StageCI).Evidence {
		e, err := tx.Evidence(id)
		if err != nil {
			return "", err
		}
		if e.Command == nil || e.Source == nil || e.Source.Commit == "" {
			continue
		}
		if !sameCommit(e.Source.Commit, run.Commit) {
			return fmt.Sprintf("its ci stage cites %s, which ran at commit %s, not %s", e.ID, e.Source.Commit, run.Commit), nil
		}
		// Tracked files changed in the checkout: what ran was not the
		// commit.
		if e.Source.Dirty {
			return fmt.Sprintf("its ci stage cites %s, which ran at commit %s with changes to tracked files, so not at %s as committed", e.ID, e.Source.Commit, run.Commit), nil
		}
	}
	return "", nil
}

// sameCommit reports whether two commit hashes, either abbreviated,
// name the same commit: the shorter is a prefix of the longer.
func sameCommit(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if len(a) > len(b) {
		a, b = b, a
	}
	return a != "" && strings.HasPrefix(b, a)
}
