package ledger

import (
	"context"

	"fairway"
	"fairway/policy"
)

// EnvironmentStatus reads an environment of the policy in force and each
// of its prerequisites that is unmet: for a task, its waivers of the
// prerequisite count, as they do at its gate.
func (l *Ledger) EnvironmentStatus(ctx context.Context, name, task string) (*fairway.EnvironmentState, error) {
	if err := fairway.CheckLine("environment", name, 100); err != nil {
		return nil, err
	}
	if task != "" {
		if err := fairway.ValidateKey("task", task); err != nil {
			return nil, err
		}
	}
	var out *fairway.EnvironmentState
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		p, _, err := l.activePolicy(tx)
		if err != nil {
			return err
		}
		env, err := environmentOf(p, name, "environment")
		if err != nil {
			return err
		}
		out = &fairway.EnvironmentState{Name: name, Class: env.Class, Protected: env.Protected, Description: env.Description, Task: task, Blockers: []*fairway.Blocker{}}
		f := &facts{task: &fairway.Task{}, policy: p, now: l.now()}
		if task != "" {
			t, err := tx.Task(task)
			if err != nil {
				return err
			}
			if f, err = l.gatherFacts(tx, t); err != nil {
				return err
			}
		}
		for _, pr := range env.Prerequisites {
			n := &policy.Need{ID: policy.NeedPrerequisite + ":" + pr, Kind: policy.NeedPrerequisite, Name: pr, Prerequisite: p.Prerequisites[pr]}
			r, err := l.prerequisiteRequirement(tx, f, n)
			if err != nil {
				return err
			}
			r.ID = n.ID
			if task != "" {
				applyWaiver(f, &r, orText(n.Prerequisite.WaiverDomain, p.Waivers.Domain))
			}
			if r.State == fairway.ReqUnsatisfied {
				out.Blockers = append(out.Blockers, &fairway.Blocker{Prerequisite: pr, Description: n.Prerequisite.Description, Remedy: r.Remedy})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
