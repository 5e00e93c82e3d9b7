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

// removedNeeds lists what the gate requires of before and would no
// longer require of after: a requirement gone, or one that loses its
// protection, MFA or approvals. Each names the domain that loses it.
func (l *Ledger) removedNeeds(tx fairway.Tx, before, after *fairway.Task) ([]fairway.RemovedNeed, error) {
	p, _, err := l.activePolicy(tx)
	if err != nil || p == nil {
		return nil, err
	}
	_, err = tx.PolicyProposal(before.Key)
	proposes := err == nil
	if err != nil && fairway.ErrorCode(err) != fairway.ENOTFOUND {
		return nil, err
	}
	was, err := p.Needs(before, proposes)
	if err != nil {
		return nil, err
	}
	will, err := p.Needs(after, proposes)
	if err != nil {
		return nil, err
	}
	var out []fairway.RemovedNeed
	// A mutating task of a protected class may not start before its
	// controls are in place (R5); turning the flag off lifts that.
	if before.Mutating && !after.Mutating {
		for _, c := range p.ProtectedClassesOf(before) {
			domain := p.Waivers.Domain
			if a := p.ProtectedClasses[c].Approvals; len(a) > 0 {
				domain = a[0]
			}
			out = append(out, fairway.RemovedNeed{Requirement: "start:" + c, Domain: domain, Protected: true,
				Because: "a mutating change of protected class " + c + " starts only with its approvals and rollback criteria in place"})
		}
	}
	for _, n := range was {
		i := slices.IndexFunc(will, func(m *policy.Need) bool { return m.ID == n.ID })
		r := fairway.RemovedNeed{Requirement: n.ID, Because: n.Describe(), Domain: owningDomain(p, n), Protected: n.Protected, MFA: n.RequireMFA}
		switch {
		case i < 0:
		case n.Protected && !will[i].Protected:
			r.Because = "no longer a protected control; was: " + n.Describe()
		case n.RequireMFA && !will[i].RequireMFA:
			r.Because = "no longer needs MFA; was: " + n.Describe()
		case n.MinApprovals > will[i].MinApprovals:
			r.Because = fmt.Sprintf("fewer approvals: %d instead of %d; was: %s", will[i].MinApprovals, n.MinApprovals, n.Describe())
		default:
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// removedDependencies lists the dependency requirements an update drops:
// each blocker it names that the task waits on and that is not done. A
// finished blocker's requirement is met for good, so dropping it narrows
// nothing. They belong to the domain that may waive a dependency.
func (l *Ledger) removedDependencies(tx fairway.Tx, key string, u fairway.TaskUpdate) ([]fairway.RemovedNeed, error) {
	if len(u.RemoveBlockers) == 0 {
		return nil, nil
	}
	blockers, err := tx.Blockers(key)
	if err != nil {
		return nil, err
	}
	p, _, err := l.activePolicy(tx)
	if err != nil || p == nil {
		return nil, err // no policy, no domain to govern it: a human's edit
	}
	domain := p.Waivers.Domain
	var out []fairway.RemovedNeed
	for _, b := range u.RemoveBlockers {
		if !slices.Contains(blockers, b) {
			return nil, fairway.FieldError("remove_blockers", "%s does not depend on %s", key, b)
		}
		t, err := tx.Task(b)
		if err != nil {
			return nil, err
		}
		if t.Status != fairway.StatusDone {
			out = append(out, fairway.RemovedNeed{Requirement: "dependency:" + b, Because: fmt.Sprintf("%s waits on %s, which is %s", key, b, t.Status), Domain: domain})
		}
	}
	return out, nil
}

// narrowedBy is everything an update removes from a task's gate: policy
// requirements and dependencies.
func (l *Ledger) narrowedBy(w *write, before *fairway.Task, u fairway.TaskUpdate) (*fairway.Task, []fairway.RemovedNeed, error) {
	after, err := l.edited(w, before, u)
	if err != nil {
		return nil, nil, err
	}
	removed, err := l.removedNeeds(w.tx, before, after)
	if err != nil {
		return nil, nil, err
	}
	deps, err := l.removedDependencies(w.tx, before.Key, u)
	if err != nil {
		return nil, nil, err
	}
	return after, append(removed, deps...), nil
}

// applyEdit stores an update's edit of a task: its fields, and the
// dependencies it drops.
func applyEdit(w *write, after *fairway.Task, u fairway.TaskUpdate) error {
	if err := w.tx.UpdateTask(after); err != nil {
		return err
	}
	for _, b := range u.RemoveBlockers {
		if err := w.tx.DeleteDependency(after.Key, b); err != nil {
			return err
		}
	}
	return nil
}

// owningDomain is the domain that loses a requirement: the reviewing
// domain for a review, the domain that may waive it otherwise.
func owningDomain(p *policy.Policy, n *policy.Need) string {
	if n.Kind == policy.NeedReview {
		return n.Name
	}
	if n.WaiverDomain != "" {
		return n.WaiverDomain
	}
	return p.Waivers.Domain
}

func narrowingRefusal(key string, removed []fairway.RemovedNeed) string {
	var parts []string
	domains := map[string]bool{}
	for _, r := range removed {
		parts = append(parts, fmt.Sprintf("%s (%s; owned by %s)", r.Requirement, r.Because, r.Domain))
		domains[r.Domain] = true
	}
	names := make([]string, 0, len(domains))
	for d := range domains {
		names = append(names, d)
	}
	slices.Sort(names)
	how := "propose it with the same flags and --propose-narrowing"
	if len(removed) == 1 && strings.HasPrefix(removed[0].Requirement, "dependency:") {
		how = fmt.Sprintf("propose it with `fairway task update %s --remove-dep %s --propose-narrowing`", key, strings.TrimPrefix(removed[0].Requirement, "dependency:"))
	}
	return fmt.Sprintf("this change narrows the gate of %s: it removes %s. A narrowing is never a single edit: %s, "+
		"then a member of %s approves it with `fairway narrowing approve ID`", key, strings.Join(parts, "; "), how, strings.Join(names, " and of "))
}

// ProposeNarrowing records an update that removes requirements from a
// task's gate, to be applied once every losing domain approves it.
func (l *Ledger) ProposeNarrowing(ctx context.Context, key string, u fairway.TaskUpdate) (*fairway.Narrowing, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(u); err != nil {
		return nil, err
	}
	u.Normalize()
	var out *fairway.Narrowing
	err := l.write(ctx, "task.narrow.propose", key, func(w *write) error {
		if err := w.onTask(key); err != nil {
			return err
		}
		if err := w.requireHuman("propose narrowing a task's gate", "Narrowing is governance"); err != nil {
			return err
		}
		before, err := w.tx.Task(key)
		if err != nil {
			return err
		}
		if fairway.IsTerminal(before.Status) {
			return fairway.Errorf(fairway.ECONFLICT, "task %s is %s and can no longer change", key, before.Status)
		}
		_, removed, err := l.narrowedBy(w, before, u)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(removed, func(r fairway.RemovedNeed) bool { return r.Domain == "" }) {
			return fairway.Errorf(fairway.ECONFLICT, "no governance policy is in force, so no domain can approve narrowing the gate of %s; bootstrap one with `fairway policy apply FILE`", key)
		}
		if len(removed) == 0 {
			return fairway.Errorf(fairway.ECONFLICT, "this change removes no requirement from the gate of %s; apply it with `fairway task update`", key)
		}
		out = &fairway.Narrowing{Task: key, Update: u, Removes: removed, ProposedBy: w.by.Name, ProposedAt: w.now,
			Base: before.UpdatedAt, State: fairway.NarrowingPending}
		if err := w.tx.InsertNarrowing(out); err != nil {
			return err
		}
		return w.record(out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ApproveNarrowing records the caller's approval for each domain still
// pending that they are a member of, and applies the narrowing once every
// losing domain has approved. The approver is a human, independent of the
// task (R2) and not the proposer.
func (l *Ledger) ApproveNarrowing(ctx context.Context, id int64) (*fairway.Narrowing, error) {
	// An edit that would make started work a mutating change of a
	// protected class needs its controls' evidence checked, as a start
	// does: outside the transaction.
	var proposed *fairway.Narrowing
	if err := l.store.View(ctx, func(tx fairway.Tx) error {
		proposed = nil
		if n, err := tx.Narrowing(id); err == nil {
			proposed = n
		}
		return nil // the write says what is wrong
	}); err != nil {
		return nil, err
	}
	var blobs *blobCheck
	if proposed != nil {
		var err error
		if blobs, err = l.checkBlobsOf(ctx, proposed.Task, true, hashBlobs, func(t *fairway.Task) *fairway.Task {
			if !workStarted(t) {
				return nil
			}
			return proposed.Update.Apply(t)
		}); err != nil {
			return nil, err
		}
	}
	var out *fairway.Narrowing
	err := l.write(ctx, "task.narrow.approve", "", func(w *write) error {
		n, err := w.tx.Narrowing(id)
		if err != nil {
			return err
		}
		w.subject = n.Task
		if err := w.requireHuman("approve narrowing a task's gate", "Narrowing is governance"); err != nil {
			return err
		}
		if n.State != fairway.NarrowingPending {
			return fairway.Errorf(fairway.ECONFLICT, "narrowing %d is %s", id, n.State)
		}
		task, err := w.tx.Task(n.Task)
		if err != nil {
			return err
		}
		if !task.UpdatedAt.Equal(n.Base) || fairway.IsTerminal(task.Status) {
			return fairway.Errorf(fairway.ECONFLICT, "task %s changed after narrowing %d was proposed; propose it again so the approval judges what it applies to", n.Task, id)
		}
		if w.by.Name == n.ProposedBy {
			return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("%s proposed narrowing %d and cannot also approve it", w.by.Name, id)})
		}
		// An approval made with a token another actor issued is theirs too.
		as := &fairway.Review{Reviewer: w.by.Name, TokenIssuedBy: w.vouchedBy()}
		if v := as.TokenIssuedBy; v != "" && v == n.ProposedBy {
			return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("%s acts with a token issued by %s, who proposed narrowing %d and cannot also approve it", w.by.Name, v, id)})
		}
		excluded, err := notIndependentEver(w.tx, task)
		if err != nil {
			return err
		}
		if why := notIndependentReview(as, excluded); why != "" {
			return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("%s is not independent of %s (%s) and cannot approve narrowing its gate", w.by.Name, n.Task, why)})
		}
		p, _, err := l.activePolicy(w.tx)
		if err != nil {
			return err
		}
		// What the approval judges must be what it applies: a policy
		// changed since the proposal may make the same edit remove more.
		after, now, err := l.narrowedBy(w, task, n.Update)
		if err != nil {
			return err
		}
		if !sameRemovals(now, n.Removes) {
			return fairway.Errorf(fairway.ECONFLICT, "narrowing %d would now remove other requirements than it listed when proposed (the policy in force changed); propose it again so every losing domain judges it", id)
		}
		var mine []string
		for _, d := range n.Pending() {
			if p != nil && p.IsMember(d, w.by.Name, w.auth.Groups) {
				mine = append(mine, d)
			}
		}
		if len(mine) == 0 {
			return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("narrowing %d awaits approval by %s; %s is a member of none of them",
				id, strings.Join(n.Pending(), ", "), w.by.Name)})
		}
		for _, d := range mine {
			if (p.RequiresMFA(d) || removesMFA(n.Removes, d)) && (w.auth.MFA == nil || !w.auth.MFA.MFA) {
				return w.refuse(&fairway.Error{Code: fairway.ESTEPUP, Message: fmt.Sprintf("approving narrowing %d for %s needs MFA asserted by the identity provider; sign in again with MFA", id, d),
					StepUp: &fairway.StepUp{ACRValues: l.StepUpACR, MaxAge: int(l.MFAMaxAge / time.Second)}})
			}
			n.Approvals = append(n.Approvals, fairway.NarrowingReview{Domain: d, By: w.by.Name, At: w.now})
		}
		if err := w.record(map[string]any{"narrowing": id, "domains": mine}); err != nil {
			return err
		}
		if len(n.Pending()) == 0 {
			if err := l.refuseUnguardedStart(w, task, after, blobs); err != nil {
				return err
			}
			if err := applyEdit(w, after, n.Update); err != nil {
				return err
			}
			n.State, n.AppliedAt = fairway.NarrowingApplied, w.now
			if err := w.recordAs("task.narrow", n.Task, map[string]any{"narrowing": id, "update": n.Update, "removes": n.Removes, "approvals": n.Approvals, "task": after}); err != nil {
				return err
			}
		}
		if err := w.tx.UpdateNarrowing(n); err != nil {
			return err
		}
		out = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sameRemovals reports whether two lists name the same requirements
// lost by the same domains.
func sameRemovals(a, b []fairway.RemovedNeed) bool {
	key := func(list []fairway.RemovedNeed) []string {
		out := make([]string, 0, len(list))
		for _, r := range list {
			out = append(out, fmt.Sprintf("%s|%s|%t|%t", r.Requirement, r.Domain, r.Protected, r.MFA))
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

// removesMFA reports whether the narrowing takes from domain a
// requirement that asked for MFA.
func removesMFA(removes []fairway.RemovedNeed, domain string) bool {
	return slices.ContainsFunc(removes, func(r fairway.RemovedNeed) bool { return r.Domain == domain && r.MFA })
}

// ListNarrowings lists a task's narrowings, or every one.
func (l *Ledger) ListNarrowings(ctx context.Context, task string) ([]*fairway.Narrowing, error) {
	out := []*fairway.Narrowing{}
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		list, err := tx.Narrowings(task)
		if list != nil {
			out = list
		}
		return err
	})
	return out, err
}
