package ledger

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"fairway"
	"fairway/policy"
)

// Defaults for fields a task create may leave out.
const (
	DefaultRisk     = fairway.RiskMedium
	DefaultPriority = 2
)

// CreateTask creates an open task, generating its key from the lane's
// prefix when none is given.
func (l *Ledger) CreateTask(ctx context.Context, c fairway.TaskCreate) (*fairway.Task, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(c); err != nil {
		return nil, err
	}
	var task *fairway.Task
	err := l.write(ctx, "task.create", c.Key, func(w *write) error {
		tx, by, now := w.tx, w.by, w.now
		task = &fairway.Task{
			Key: c.Key, Title: strings.TrimSpace(c.Title), Scope: c.Scope, Lane: c.Lane, Owner: c.Owner,
			Creator: by.Name, Status: fairway.StatusOpen, Risk: c.Risk, Priority: DefaultPriority,
			ReviewDomains: c.ReviewDomains, Mutating: c.Mutating, Labels: c.Labels,
			CreatedAt: now, UpdatedAt: now,
		}
		if task.Risk == "" {
			task.Risk = DefaultRisk
		}
		if c.Priority != nil {
			task.Priority = *c.Priority
		}
		if err := l.checkOwner(tx, task.Owner); err != nil {
			return err
		}
		if len(task.ReviewDomains) > 0 && humanOnly(w.auth, by, "", "") != nil {
			if err := l.keepPolicyReviews(w, task); err != nil {
				return err
			}
		}
		if task.Owner != "" {
			task.AssignedBy = by.Name
		}
		if c.Lane != "" {
			lane, err := tx.Lane(c.Lane)
			if fairway.ErrorCode(err) == fairway.ENOTFOUND {
				return fairway.FieldError("lane", "lane %q does not exist; create it with `fairway lane create %s`", c.Lane, c.Lane)
			} else if err != nil {
				return err
			}
			if task.Key == "" {
				if lane.KeyPrefix == "" {
					return fairway.FieldError("key", "lane %q has no key prefix, so give the task a key", lane.Name)
				}
				if task.Key, err = nextKey(tx, lane); err != nil {
					return err
				}
			}
		}
		if err := tx.InsertTask(task); err != nil {
			return err
		}
		w.subject = task.Key
		return w.record(task)
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// keepPolicyReviews makes the review domains anyone but a human names
// when creating a task add to what the policy asks of it, never replace
// it: a domain named would otherwise displace the policy's default
// reviewer, and only a human changes what a gate requires (R1). Every
// review the policy would ask of the task without the named domains is
// added to them; a requirement of another kind that naming them would
// drop is refused.
func (l *Ledger) keepPolicyReviews(w *write, task *fairway.Task) error {
	p, _, err := l.activePolicy(w.tx)
	if err != nil || p == nil {
		return err
	}
	bare := *task
	bare.ReviewDomains = nil
	want, err := p.Needs(&bare, false)
	if err != nil {
		return err
	}
	named := slices.Clone(task.ReviewDomains)
	for {
		got, err := p.Needs(task, false)
		if err != nil {
			return err
		}
		var lost []string
		added := false
		for _, n := range want {
			if slices.ContainsFunc(got, func(m *policy.Need) bool { return m.ID == n.ID }) {
				continue
			}
			if n.Kind == policy.NeedReview && !slices.Contains(task.ReviewDomains, n.Name) {
				task.ReviewDomains = append(task.ReviewDomains, n.Name)
				added = true
				continue
			}
			lost = append(lost, n.ID+" ("+n.Describe()+")")
		}
		switch {
		case added:
			continue // the domains added may change what else applies
		case len(lost) > 0:
			return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf(
				"naming review domains %s would drop what the policy asks of this task: %s; review domains %s names may only add to the policy's requirements. Create the task without them, or ask a human to name them",
				strings.Join(named, ", "), strings.Join(lost, "; "), w.by.Name)})
		default:
			return nil
		}
	}
}

// nextKey takes the lane's next number, skipping keys already taken by
// tasks created with an explicit key.
func nextKey(tx fairway.Tx, lane *fairway.Lane) (string, error) {
	for {
		n, err := tx.NextLaneSeq(lane.Name)
		if err != nil {
			return "", err
		}
		key := fmt.Sprintf("%s-%03d", lane.KeyPrefix, n)
		if _, err := tx.Task(key); fairway.ErrorCode(err) == fairway.ENOTFOUND {
			return key, nil
		} else if err != nil {
			return "", err
		}
	}
}

func (l *Ledger) checkOwner(tx fairway.Tx, owner string) error {
	if owner == "" {
		return nil
	}
	if _, err := tx.Actor(owner); fairway.ErrorCode(err) == fairway.ENOTFOUND {
		return fairway.FieldError("owner", "actor %q does not exist; create it first with `fairway actor create %s`", owner, owner)
	} else if err != nil {
		return err
	}
	return nil
}

// GetTask returns one task.
func (l *Ledger) GetTask(ctx context.Context, key string) (*fairway.Task, error) {
	var task *fairway.Task
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		task, err = tx.Task(key)
		return err
	})
	return task, err
}

// ListTasks lists tasks by key.
func (l *Ledger) ListTasks(ctx context.Context, f fairway.TaskFilter) ([]*fairway.Task, error) {
	if f.Status != "" && !slices.Contains(fairway.Statuses, f.Status) {
		return nil, fairway.FieldError("status", "%q is not a status: use one of %s", f.Status, strings.Join(fairway.Statuses, ", "))
	}
	if f.Limit < 0 {
		return nil, fairway.FieldError("limit", "must not be negative")
	}
	var out []*fairway.Task
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		out, err = tx.Tasks(f)
		return err
	})
	return out, err
}

// UpdateTask changes a task field by field. An update that would remove
// a requirement from the task's gate is refused, naming what it removes:
// narrowing a gate goes through ProposeNarrowing.
func (l *Ledger) UpdateTask(ctx context.Context, key string, u fairway.TaskUpdate) (*fairway.Task, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(u); err != nil {
		return nil, err
	}
	u.Normalize()
	// An update that would make started work a mutating change of a
	// protected class needs its controls' evidence checked, as a start
	// does: outside the transaction.
	blobs, err := l.checkBlobsOf(ctx, key, true, hashBlobs, func(t *fairway.Task) *fairway.Task {
		if !u.Governs() || !workStarted(t) {
			return nil
		}
		return u.Apply(t)
	})
	if err != nil {
		return nil, err
	}
	var task *fairway.Task
	err = l.write(ctx, "task.update", key, func(w *write) error {
		if err := w.onTask(key); err != nil {
			return err
		}
		before, err := w.tx.Task(key)
		if err != nil {
			return err
		}
		if fairway.IsTerminal(before.Status) {
			return fairway.Errorf(fairway.ECONFLICT, "task %s is %s and can no longer change; create a follow-up task instead", key, before.Status)
		}
		// What the gate requires follows from scope, domains, labels, risk,
		// owner and the mutating flag; an agent changing them could choose
		// its own requirements.
		if u.Governs() {
			if err := w.requireHuman("change a task's scope, review domains, labels, risk, owner or mutating flag", "They decide what its gate requires"); err != nil {
				return err
			}
		}
		var removed []fairway.RemovedNeed
		if task, removed, err = l.narrowedBy(w, before, u); err != nil {
			return err
		}
		if len(removed) > 0 {
			e := &fairway.Error{Code: fairway.EFORBIDDEN, Message: narrowingRefusal(key, removed)}
			return w.refuseWith(e, map[string]any{"code": e.Code, "reason": e.Message, "removes": removed})
		}
		if err := l.refuseUnguardedStart(w, before, task, blobs); err != nil {
			return err
		}
		if err := applyEdit(w, task, u); err != nil {
			return err
		}
		// The event carries the row it leaves, so the row is checkable
		// against the log (R8).
		return w.record(map[string]any{"update": u, "task": task})
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// edited returns the task as an update leaves it, checking what needs
// the store.
func (l *Ledger) edited(w *write, before *fairway.Task, u fairway.TaskUpdate) (*fairway.Task, error) {
	if u.Owner != nil {
		if err := l.checkOwner(w.tx, *u.Owner); err != nil {
			return nil, err
		}
	}
	after := u.Apply(before)
	if after.Owner != before.Owner {
		after.AssignedBy = w.by.Name
	}
	after.UpdatedAt = w.now
	return after, nil
}

// TransitionTask moves a task along the status machine. Done and cancelled
// have their own paths: the gate, and a human's cancellation.
func (l *Ledger) TransitionTask(ctx context.Context, key string, t fairway.Transition) (*fairway.Task, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(t); err != nil {
		return nil, err
	}
	switch t.Status {
	case fairway.StatusDone:
		return nil, fairway.FieldError("status", "a task reaches done only through its gate: run `fairway task close %s`", key)
	case fairway.StatusCancelled:
		return nil, fairway.FieldError("status", "cancelling needs a human and a reason: run `fairway task cancel %s --reason TEXT`", key)
	}
	// Starting work may need protected controls' evidence: check its
	// bytes now, outside the transaction.
	var blobs *blobCheck
	if t.Status == fairway.StatusInProgress {
		var err error
		if blobs, err = l.checkBlobs(ctx, key, true, hashBlobs); err != nil {
			return nil, err
		}
	}
	var task *fairway.Task
	err := l.write(ctx, "task.transition", key, func(w *write) error {
		if err := w.onTask(key); err != nil {
			return err
		}
		tx, now := w.tx, w.now
		var err error
		if task, err = tx.Task(key); err != nil {
			return err
		}
		from := task.Status
		if !slices.Contains(fairway.AllowedTransitions(from), t.Status) {
			return illegalTransition(key, from, t.Status)
		}
		if t.Status == fairway.StatusInProgress && task.Mutating {
			// R5: protected change classes need their explicit approvals
			// and rollback criteria before any mutating step.
			missing, err := l.protectedControlsMissing(tx, task, blobs)
			if err != nil {
				return err
			}
			if len(missing) > 0 {
				return w.refuse(&fairway.Error{Code: fairway.EGATEFAILED, Message: fmt.Sprintf(
					"%s is a mutating change of a protected class; before it starts it needs: %s (see `fairway gate explain %s`)",
					key, strings.Join(missing, "; "), key)})
			}
		}
		task.Status, task.WaitReason, task.UpdatedAt = t.Status, t.WaitReason, now
		if err := tx.UpdateTask(task); err != nil {
			return err
		}
		return w.record(map[string]any{
			"from": from, "to": t.Status, "wait_reason": t.WaitReason, "note": t.Note, "task": task,
		})
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// protectedControlsMissing lists the unsatisfied controls of the protected
// change classes a task touches.
func (l *Ledger) protectedControlsMissing(tx fairway.Tx, task *fairway.Task, blobs *blobCheck) ([]string, error) {
	f, err := l.gatherFacts(tx, task)
	if err != nil || f.policy == nil || len(f.policy.ProtectedClassesOf(task)) == 0 {
		return nil, err
	}
	d, err := l.decide(tx, f, blobs)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, r := range d.Requirements {
		if r.Protected && r.State != fairway.ReqSatisfied {
			missing = append(missing, r.ID+" ("+r.Because+")")
		}
	}
	return missing, nil
}

// workStarted reports whether a task's work has started: in progress or
// in review, its mutating steps may run, and it will not pass the start
// check again.
func workStarted(t *fairway.Task) bool {
	return t.Status == fairway.StatusInProgress || t.Status == fairway.StatusInReview
}

// refuseUnguardedStart refuses an edit that makes started work a mutating
// change of a protected class it was not before (made mutating, or given
// a protected class) while that class's controls are not met: its
// mutating steps would run without the approvals and rollback criteria
// R5 asks for before they start, a check the task passed, if at all,
// for another change. Edits of started work that add no protected
// mutating change are not its business.
func (l *Ledger) refuseUnguardedStart(w *write, before, after *fairway.Task, blobs *blobCheck) error {
	if !after.Mutating || !workStarted(after) {
		return nil
	}
	p, _, err := l.activePolicy(w.tx)
	if err != nil || p == nil {
		return err
	}
	var was []string
	if before.Mutating {
		was = p.ProtectedClassesOf(before)
	}
	var added []string
	for _, c := range p.ProtectedClassesOf(after) {
		if !slices.Contains(was, c) {
			added = append(added, c)
		}
	}
	if len(added) == 0 {
		return nil
	}
	missing, err := l.protectedControlsMissing(w.tx, after, blobs)
	if err != nil || len(missing) == 0 {
		return err
	}
	what := "adding protected change class " + strings.Join(added, ", ")
	if !before.Mutating {
		what = "making it mutating"
	}
	back := fmt.Sprintf("`fairway task move %s open`", after.Key)
	if after.Status == fairway.StatusInReview {
		back = fmt.Sprintf("`fairway task move %s in_progress`, then %s", after.Key, back)
	}
	return w.refuse(&fairway.Error{Code: fairway.EGATEFAILED, Message: fmt.Sprintf(
		"%s is %s: %s would make it a mutating change of a protected class whose work has already started, but R5 asks for its controls before a mutating step starts, and it lacks: %s. "+
			"Move it back to open first (%s), make the change, and start it again once they are met (see `fairway gate explain %s`)",
		after.Key, after.Status, what, strings.Join(missing, "; "), back, after.Key)})
}

func illegalTransition(key, from, to string) error {
	allowed := fairway.AllowedTransitions(from)
	var next []string
	next = append(next, allowed...)
	if !fairway.IsTerminal(from) {
		next = append(next, "done (via `task close`)", "cancelled (via `task cancel`)")
	}
	if len(next) == 0 {
		return fairway.Errorf(fairway.ECONFLICT, "task %s is %s, a final status: it cannot move to %s", key, from, to)
	}
	return fairway.Errorf(fairway.ECONFLICT, "task %s cannot move from %s to %s; allowed from %s: %s", key, from, to, from, strings.Join(next, ", "))
}

// CancelTask ends a task without doing it. Only a human may, with a reason.
func (l *Ledger) CancelTask(ctx context.Context, key, reason string) (*fairway.Task, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, fairway.FieldError("reason", "is required: say why the task is cancelled")
	}
	if err := fairway.CheckText("reason", reason, 4000); err != nil {
		return nil, err
	}
	if err := refuseSecretText(struct {
		Reason string `json:"reason"`
	}{reason}); err != nil {
		return nil, err
	}
	var task *fairway.Task
	err := l.write(ctx, "task.cancel", key, func(w *write) error {
		w.taskScoped = true // human-only: requireHuman refuses sessions and agents
		tx, now := w.tx, w.now
		var err error
		if task, err = tx.Task(key); err != nil {
			return err
		}
		if err := w.requireHuman("cancel a task", ""); err != nil {
			return err
		}
		if fairway.IsTerminal(task.Status) {
			return illegalTransition(key, task.Status, fairway.StatusCancelled)
		}
		from := task.Status
		task.Status, task.WaitReason, task.CancelReason = fairway.StatusCancelled, "", reason
		task.UpdatedAt, task.ClosedAt = now, now
		if err := tx.UpdateTask(task); err != nil {
			return err
		}
		return w.record(map[string]any{"from": from, "reason": reason, "task": task})
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}
