package ledger

import (
	"context"
	"sync"

	"fairway"
	"fairway/policy"
	"fairway/secret"
)

// policyCache keeps parsed policies by digest: parsing YAML and compiling
// CEL on every gate would dominate the gate's cost.
type policyCache struct{ m sync.Map }

func (c *policyCache) get(rec *fairway.PolicyRecord) (*policy.Policy, error) {
	if p, ok := c.m.Load(rec.Digest); ok {
		return p.(*policy.Policy), nil
	}
	p, err := policy.Load(rec.File, []byte(rec.Source))
	if err != nil {
		return nil, fairway.Errorf(fairway.EINTERNAL, "the stored policy %s no longer loads: %v", rec.Digest, err)
	}
	c.m.Store(rec.Digest, p)
	return p, nil
}

// activePolicy returns the policy in force, or nil when there is none.
func (l *Ledger) activePolicy(tx fairway.Tx) (*policy.Policy, *fairway.PolicyRecord, error) {
	rec, err := tx.ActivePolicy()
	if fairway.ErrorCode(err) == fairway.ENOTFOUND {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	p, err := l.policies.get(rec)
	return p, rec, err
}

func loadPolicy(file string, source []byte) (*policy.Policy, error) {
	if len(source) == 0 {
		return nil, fairway.FieldError("source", "the policy file is empty")
	}
	if len(source) > 4<<20 {
		return nil, fairway.FieldError("source", "the policy file is larger than 4 MiB")
	}
	// The source is kept for good, so a secret in a comment or a
	// description is refused like one in any other text (R7).
	if fs := secret.ScanText(string(source)); len(fs) > 0 {
		return nil, fairway.FieldError("policy", "%s:%d:%d holds what looks like a secret (rule %s); remove it: the policy's source is kept for good, and Fairway never stores a secret",
			file, fs[0].Line, fs[0].Column, fs[0].Rule)
	}
	p, err := policy.Load(file, source)
	if err != nil {
		return nil, &fairway.Error{Code: fairway.EINVALID, Field: "policy", Message: "the policy is refused and the previous one stays in force:\n" + err.Error()}
	}
	return p, nil
}

// CheckPolicy loads a policy without storing it.
func CheckPolicy(file string, source []byte) (*policy.Policy, error) {
	p, err := policy.Load(file, source)
	if err != nil {
		return nil, &fairway.Error{Code: fairway.EINVALID, Message: file + " is not a valid policy:\n" + err.Error()}
	}
	return p, nil
}

// ActivePolicy returns the policy in force.
func (l *Ledger) ActivePolicy(ctx context.Context) (*fairway.PolicyRecord, error) {
	var rec *fairway.PolicyRecord
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		rec, err = tx.ActivePolicy()
		return err
	})
	return rec, err
}

// BootstrapPolicy puts the first policy in force. Only a human may, and
// only while no policy is in force; after that, policy changes go through
// a task's gate (R13).
func (l *Ledger) BootstrapPolicy(ctx context.Context, file string, source []byte) (*fairway.PolicyRecord, error) {
	p, err := loadPolicy(file, source)
	if err != nil {
		return nil, err
	}
	var rec *fairway.PolicyRecord
	err = l.write(ctx, "policy.bootstrap", p.Digest, func(w *write) error {
		tx, by, now := w.tx, w.by, w.now
		if err := w.requireHuman("bootstrap the governance policy", ""); err != nil {
			return err
		}
		if cur, err := tx.ActivePolicy(); err == nil {
			return fairway.Errorf(fairway.ECONFLICT, "a policy is already in force (%s); change it through a task: `fairway policy propose FILE --task KEY`, then close that task through its gate", cur.Digest)
		} else if fairway.ErrorCode(err) != fairway.ENOTFOUND {
			return err
		}
		rec = &fairway.PolicyRecord{Digest: p.Digest, File: file, Source: string(source), State: fairway.PolicyActive,
			ProposedBy: by.Name, ProposedAt: now, ActivatedAt: now}
		if err := tx.InsertPolicy(rec); err != nil {
			return err
		}
		return w.record(map[string]any{"digest": p.Digest, "file": file})
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// ProposePolicy attaches a checked policy to a task. It takes effect only
// when the task closes through a gate that the policy owners approved.
func (l *Ledger) ProposePolicy(ctx context.Context, task, file string, source []byte) (*fairway.PolicyRecord, error) {
	if err := fairway.ValidateKey("task", task); err != nil {
		return nil, err
	}
	p, err := loadPolicy(file, source)
	if err != nil {
		return nil, err
	}
	var rec *fairway.PolicyRecord
	err = l.write(ctx, "policy.propose", task, func(w *write) error {
		if err := w.onTask(task); err != nil {
			return err
		}
		tx, by := w.tx, w.by
		t, err := tx.Task(task)
		if err != nil {
			return err
		}
		if fairway.IsTerminal(t.Status) {
			return fairway.Errorf(fairway.ECONFLICT, "task %s is %s; propose the policy on an open task", task, t.Status)
		}
		cur, err := tx.ActivePolicy()
		if fairway.ErrorCode(err) == fairway.ENOTFOUND {
			return fairway.Errorf(fairway.ECONFLICT, "no policy is in force yet; bootstrap the first one with `fairway policy apply FILE`")
		} else if err != nil {
			return err
		}
		if cur.Digest == p.Digest {
			return fairway.Errorf(fairway.ECONFLICT, "%s is the policy already in force (%s): there is nothing to propose; edit the file and propose it again", file, cur.Digest)
		}
		if old, err := tx.PolicyProposal(task); err == nil {
			old.State = fairway.PolicyWithdrawn
			if err := tx.UpdatePolicy(old); err != nil {
				return err
			}
		}
		rec = &fairway.PolicyRecord{Digest: p.Digest, File: file, Source: string(source), State: fairway.PolicyProposed,
			Task: task, Base: cur.Digest, ProposedBy: by.Name, ProposedAt: w.now}
		if err := tx.InsertPolicy(rec); err != nil {
			return err
		}
		return w.record(map[string]any{"digest": p.Digest, "file": file, "base": cur.Digest})
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}
