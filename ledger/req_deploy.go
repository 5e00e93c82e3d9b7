package ledger

import (
	"fmt"
	"time"

	"fairway"
	"fairway/policy"
)

// deployRunKind: a deploy-run of the task in an environment that
// finished well (R3). The newest finished run decides, so a later failure
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
