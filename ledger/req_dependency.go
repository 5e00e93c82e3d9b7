package ledger

import (
	"fmt"
	"strings"

	"fairway"
	"fairway/policy"
)

// dependencyKind: every task this one depends on is done. Dependencies
// come from the task graph, not from policy needs, so the gate evaluates
// them apart (dependencyRequirements); the policy's waiver domain may
// lift one.
var dependencyKind = requirementKind{
	request: func(_ *Ledger, tx fairway.Tx, p *policy.Policy, in fairway.WaiverRequest) (string, error) {
		_, key, _ := strings.Cut(in.Requirement, ":")
		if _, err := tx.Task(key); err != nil {
			return "", fairway.FieldError("requirement", "%s names no task", in.Requirement)
		}
		return p.Waivers.Domain, nil
	},
}

// dependencyRequirements has one requirement per task this one depends
// on, each satisfied when that task is done or lifted by a waiver.
func (l *Ledger) dependencyRequirements(tx fairway.Tx, f *facts) ([]fairway.Requirement, error) {
	blockers, err := tx.Blockers(f.task.Key)
	if err != nil {
		return nil, err
	}
	if len(blockers) == 0 {
		return []fairway.Requirement{{ID: "dependencies", Kind: "dependency", Name: "dependencies", State: fairway.ReqNotApplicable, Detail: "the task has no dependencies"}}, nil
	}
	var out []fairway.Requirement
	domain := ""
	if f.policy != nil {
		domain = f.policy.Waivers.Domain
	}
	for _, key := range blockers {
		b, err := tx.Task(key)
		if err != nil {
			return nil, err
		}
		r := fairway.Requirement{ID: "dependency:" + key, Kind: "dependency", Name: key, Detail: fmt.Sprintf("%s is %s", key, b.Status)}
		if b.Status == fairway.StatusDone {
			r.State = fairway.ReqSatisfied
		} else {
			r.State = fairway.ReqUnsatisfied
			r.Remedy = fmt.Sprintf("close %s through its own gate (owner: %s)", key, orNone(b.Owner))
		}
		applyWaiver(f, &r, domain)
		out = append(out, r)
	}
	return out, nil
}
