package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"fairway"
)

// evaluateGate is the one place that decides whether a task may close.
// Later requirements (reviews, evidence, policy) are added here and nowhere
// else.
func (l *Ledger) evaluateGate(tx fairway.Tx, task *fairway.Task) (*fairway.GateDecision, error) {
	d := &fairway.GateDecision{Task: task.Key, DecidedAt: l.now()}
	blockers, err := tx.Blockers(task.Key)
	if err != nil {
		return nil, err
	}
	judged := map[string]any{"task": task}
	blockerStatus := map[string]string{}
	if len(blockers) == 0 {
		d.Requirements = append(d.Requirements, fairway.Requirement{
			Kind: "dependency", Name: "dependencies", State: fairway.ReqNotApplicable, Detail: "the task has no dependencies",
		})
	}
	for _, key := range blockers {
		b, err := tx.Task(key)
		if err != nil {
			return nil, err
		}
		blockerStatus[key] = b.Status
		r := fairway.Requirement{Kind: "dependency", Name: key, Detail: fmt.Sprintf("%s is %s", key, b.Status)}
		if b.Status == fairway.StatusDone {
			r.State = fairway.ReqSatisfied
		} else {
			r.State = fairway.ReqUnsatisfied
			r.Remedy = fmt.Sprintf("close %s through its own gate (owner: %s), or remove the dependency with `fairway dep remove %s %s`", key, orNone(b.Owner), task.Key, key)
		}
		d.Requirements = append(d.Requirements, r)
	}
	judged["blockers"] = blockerStatus
	d.Pass = !slices.ContainsFunc(d.Requirements, func(r fairway.Requirement) bool { return r.State == fairway.ReqUnsatisfied })
	body, err := fairway.CanonicalJSON(judged)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	d.SnapshotDigest = "sha256:" + hex.EncodeToString(sum[:])
	return d, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// ExplainGate evaluates the gate without changing anything.
func (l *Ledger) ExplainGate(ctx context.Context, key string) (*fairway.GateDecision, error) {
	var d *fairway.GateDecision
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		task, err := tx.Task(key)
		if err != nil {
			return err
		}
		d, err = l.evaluateGate(tx, task)
		return err
	})
	return d, err
}

// CloseTask moves a task to done when its gate passes. Only a human may
// close (R1). A refusal, for either reason, is written to the audit log.
func (l *Ledger) CloseTask(ctx context.Context, key string) (*fairway.GateDecision, error) {
	var d *fairway.GateDecision
	var refusal error
	err := l.store.Update(ctx, func(tx fairway.Tx) error {
		by, err := actor(ctx, tx)
		if err != nil {
			return err
		}
		task, err := tx.Task(key)
		if err != nil {
			return err
		}
		now := l.now()
		if !by.IsHuman() {
			e := &fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("only a human can close a task; %s is %s %s. Agents record evidence and ask for review", by.Name, article(by.Kind), by.Kind)}
			refusal = e
			return l.refuse(tx, by, now, "task.close", key, e)
		}
		switch task.Status {
		case fairway.StatusOpen, fairway.StatusInProgress, fairway.StatusInReview:
		case fairway.StatusBlocked:
			return fairway.Errorf(fairway.ECONFLICT, "task %s is blocked (waiting on %s); move it to in_progress or in_review before closing", key, task.WaitReason)
		default:
			return illegalTransition(key, task.Status, fairway.StatusDone)
		}
		if d, err = l.evaluateGate(tx, task); err != nil {
			return err
		}
		if !d.Pass {
			e := &fairway.Error{Code: fairway.EGATEFAILED, Message: fmt.Sprintf("the gate for %s did not pass; run `fairway gate explain %s` to see what is unsatisfied", key, key)}
			refusal = e
			return l.record(tx, by, now, "task.close.refused", key, map[string]any{"code": e.Code, "decision": d})
		}
		from := task.Status
		task.Status, task.WaitReason, task.UpdatedAt, task.ClosedAt = fairway.StatusDone, "", now, now
		if err := tx.UpdateTask(task); err != nil {
			return err
		}
		return l.record(tx, by, now, "task.close", key, map[string]any{"from": from, "decision": d})
	})
	if err != nil {
		return nil, err
	}
	return d, refusal
}
