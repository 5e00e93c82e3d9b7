package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"fairway"
	"fairway/policy"
)

// facts is what a gate judges, read once per evaluation.
type facts struct {
	task     *fairway.Task
	policy   *policy.Policy
	record   *fairway.PolicyRecord
	proposal *fairway.PolicyRecord
	needs    []*policy.Need
	reviews  []*fairway.Review
	waivers  []*fairway.Waiver
	// notIndependent holds everyone who may not review the task (R2).
	notIndependent map[string]string
	snapshot       string
	now            time.Time
}

// gatherFacts reads everything the gate needs about a task.
func (l *Ledger) gatherFacts(tx fairway.Tx, task *fairway.Task) (*facts, error) {
	f := &facts{task: task, now: l.now()}
	var err error
	if f.policy, f.record, err = l.activePolicy(tx); err != nil {
		return nil, err
	}
	if f.proposal, err = tx.PolicyProposal(task.Key); fairway.ErrorCode(err) == fairway.ENOTFOUND {
		f.proposal = nil
	} else if err != nil {
		return nil, err
	}
	if f.policy != nil {
		if f.needs, err = f.policy.Needs(task, f.proposal != nil); err != nil {
			return nil, err
		}
	}
	_, chain, err := tx.ProofChain(task.Key)
	if err != nil {
		return nil, err
	}
	if f.notIndependent, err = notIndependent(tx, task); err != nil {
		return nil, err
	}
	if f.reviews, err = tx.Reviews(task.Key); err != nil {
		return nil, err
	}
	if f.waivers, err = tx.Waivers(task.Key, task.Lane); err != nil {
		return nil, err
	}
	f.snapshot = snapshotDigest(task, chain, f.proposal)
	return f, nil
}

// snapshotDigest binds approvals to what they judged: the task's scope
// and mutating flag, its proof evidence (through the task's proof chain),
// and any policy it proposes. Changing any of them makes earlier
// approvals stale (R4).
func snapshotDigest(t *fairway.Task, proofChain string, proposal *fairway.PolicyRecord) string {
	scope, _ := fairway.CanonicalJSON(t.Scope)
	proposed := ""
	if proposal != nil {
		proposed = proposal.Digest
	}
	h := sha256.New()
	fmt.Fprintf(h, "task %s\nscope %s\nmutating %t\nproof %s\nproposed %s\n", t.Key, scope, t.Mutating, proofChain, proposed)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// evaluateGate is the one place that decides whether a task may close:
// dependencies, then every requirement of the policy in force.
func (l *Ledger) evaluateGate(tx fairway.Tx, task *fairway.Task) (*fairway.GateDecision, error) {
	f, err := l.gatherFacts(tx, task)
	if err != nil {
		return nil, err
	}
	return l.decide(tx, f)
}

func (l *Ledger) decide(tx fairway.Tx, f *facts) (*fairway.GateDecision, error) {
	d := &fairway.GateDecision{Task: f.task.Key, DecidedAt: f.now, SnapshotDigest: f.snapshot}
	if f.record != nil {
		d.PolicyDigest = f.record.Digest
	} else {
		d.Requirements = append(d.Requirements, fairway.Requirement{ID: "policy", Kind: "policy", Name: "governance policy", State: fairway.ReqNotApplicable,
			Detail: "no governance policy is in force, so only dependencies are checked; bootstrap one with `fairway policy apply FILE`"})
	}
	if f.proposal != nil && f.record != nil {
		r := fairway.Requirement{ID: "policy-base", Kind: "policy", Name: "proposal base", State: fairway.ReqSatisfied,
			Detail: "the proposal was made on the policy in force (" + f.record.Digest + ")"}
		if f.proposal.Base != f.record.Digest {
			r.State = fairway.ReqUnsatisfied
			r.Detail = fmt.Sprintf("the policy in force changed since this proposal (proposed on %s, now %s)", f.proposal.Base, f.record.Digest)
			r.Remedy = fmt.Sprintf("propose the change again on top of the policy in force: `fairway policy propose FILE --task %s`", f.task.Key)
		}
		d.Requirements = append(d.Requirements, r)
	}
	deps, err := l.dependencyRequirements(tx, f)
	if err != nil {
		return nil, err
	}
	d.Requirements = append(d.Requirements, deps...)
	for _, n := range f.needs {
		var r fairway.Requirement
		switch n.Kind {
		case policy.NeedReview:
			r = l.reviewRequirement(f, n)
		case policy.NeedEvidence:
			if r, err = l.evidenceRequirement(tx, f, n); err != nil {
				return nil, err
			}
		case policy.NeedPrerequisite:
			if r, err = l.prerequisiteRequirement(tx, f, n); err != nil {
				return nil, err
			}
		}
		r.ID, r.Kind, r.Name, r.Because, r.Protected = n.ID, n.Kind, n.Name, n.Describe(), n.Protected
		if n.Waivable() {
			applyWaiver(f, &r, n.WaiverDomain)
		}
		d.Requirements = append(d.Requirements, r)
	}
	d.Pass = !slices.ContainsFunc(d.Requirements, func(r fairway.Requirement) bool { return r.State == fairway.ReqUnsatisfied })
	return d, nil
}

// activeWaiver finds an approved, unexpired waiver for a requirement of
// the task or its lane.
func activeWaiver(f *facts, id string) *fairway.Waiver {
	for _, w := range f.waivers {
		if w.Requirement == id && w.ActiveAt(f.now) && (w.Task == f.task.Key || w.Lane != "" && w.Lane == f.task.Lane) {
			return w
		}
	}
	return nil
}

// applyWaiver shows the waiver in force on a requirement, and lifts the
// requirement when it is otherwise unsatisfied.
func applyWaiver(f *facts, r *fairway.Requirement, domain string) {
	w := activeWaiver(f, r.ID)
	if w == nil {
		for _, p := range f.waivers {
			if p.Requirement == r.ID && p.ApprovedBy == "" && f.now.Before(p.ExpiresAt) {
				r.Detail += fmt.Sprintf("; waiver %d requested by %s awaits approval by %s", p.ID, p.RequestedBy, p.Domain)
				if r.State == fairway.ReqUnsatisfied {
					r.Remedy += fmt.Sprintf("; or approve waiver %d: `fairway waiver approve %d` (a member of %s other than %s)", p.ID, p.ID, p.Domain, p.RequestedBy)
				}
				return
			}
		}
		if r.State == fairway.ReqUnsatisfied && domain != "" {
			r.Remedy += fmt.Sprintf("; or a waiver approved by %s: `fairway waiver request --task %s --requirement %s --reason TEXT --expires DURATION`", domain, f.task.Key, r.ID)
		}
		return
	}
	r.Waiver = w
	if r.State == fairway.ReqUnsatisfied {
		r.State = fairway.ReqWaived
		r.Detail = fmt.Sprintf("waived by %s until %s (waiver %d: %s)", w.ApprovedBy, w.ExpiresAt.UTC().Format(time.RFC3339), w.ID, w.Reason)
		r.Remedy = ""
	}
}

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
			r.Remedy = fmt.Sprintf("close %s through its own gate (owner: %s), or remove the dependency with `fairway dep remove %s %s`", key, orNone(b.Owner), f.task.Key, key)
		}
		applyWaiver(f, &r, domain)
		out = append(out, r)
	}
	return out, nil
}

// reviewRequirement counts independent, current approvals for a domain,
// and blocks on any open change request (R2, R4, R6).
func (l *Ledger) reviewRequirement(f *facts, n *policy.Need) fairway.Requirement {
	r := fairway.Requirement{}
	resolved := map[int64]bool{}
	for _, rv := range f.reviews {
		if rv.Verdict == fairway.VerdictResolved {
			resolved[rv.Resolves] = true
		}
	}
	var open []string
	approvers := map[string]bool{}
	var stale, notIndependent, noMFA []string
	for _, rv := range f.reviews {
		if rv.Domain != n.Name {
			continue
		}
		switch rv.Verdict {
		case fairway.VerdictChangesRequested:
			if !resolved[rv.ID] {
				open = append(open, fmt.Sprintf("#%d by %s: %s", rv.ID, rv.Reviewer, strings.Join(rv.Items, "; ")))
			}
		case fairway.VerdictApproved:
			switch {
			case f.notIndependent[rv.Reviewer] != "":
				notIndependent = append(notIndependent, rv.Reviewer+" ("+f.notIndependent[rv.Reviewer]+")")
			case rv.Snapshot != f.snapshot:
				stale = append(stale, rv.Reviewer)
			case n.RequireMFA && (rv.MFA == nil || !rv.MFA.MFA):
				noMFA = append(noMFA, rv.Reviewer)
			default:
				approvers[rv.Reviewer] = true
			}
		}
	}
	names := make([]string, 0, len(approvers))
	for a := range approvers {
		names = append(names, a)
	}
	sort.Strings(names)
	var detail []string
	detail = append(detail, fmt.Sprintf("%d of %d approval(s)", len(names), n.MinApprovals))
	if len(names) > 0 {
		detail[0] += " by " + strings.Join(names, ", ")
	}
	if len(stale) > 0 {
		detail = append(detail, "stale (scope or evidence changed since): "+strings.Join(stale, ", "))
	}
	if len(notIndependent) > 0 {
		detail = append(detail, "not independent: "+strings.Join(notIndependent, ", "))
	}
	if len(noMFA) > 0 {
		detail = append(detail, "without MFA: "+strings.Join(noMFA, ", "))
	}
	if len(open) > 0 {
		detail = append(detail, "open change requests: "+strings.Join(open, " | "))
	}
	r.Detail = strings.Join(detail, "; ")
	switch {
	case len(open) > 0:
		r.State = fairway.ReqUnsatisfied
		r.Remedy = fmt.Sprintf("make the requested changes, then a reviewer of %s resolves the request: `fairway review resolve %s --domain %s`", n.Name, f.task.Key, n.Name)
	case len(names) >= n.MinApprovals:
		r.State = fairway.ReqSatisfied
	default:
		r.State = fairway.ReqUnsatisfied
		r.Remedy = fmt.Sprintf("%d more approval(s) from %s%s: `fairway review approve %s --domain %s`, by a human of %s who is not %s",
			n.MinApprovals-len(names), n.Name, mfaNote(n.RequireMFA), f.task.Key, n.Name, l.membersText(f.policy, n.Name), l.excluded(f))
	}
	return r
}

func mfaNote(required bool) string {
	if required {
		return " with MFA asserted by the identity provider"
	}
	return ""
}

func (l *Ledger) membersText(p *policy.Policy, domain string) string {
	d := p.ReviewDomains[domain]
	if d == nil {
		return domain
	}
	var who []string
	for _, m := range d.Members {
		if g, ok := strings.CutPrefix(m, "group:"); ok && len(p.Groups[g]) > 0 {
			who = append(who, p.Groups[g]...)
		} else {
			who = append(who, m)
		}
	}
	return domain + " (" + strings.Join(who, ", ") + ")"
}

func (l *Ledger) excluded(f *facts) string {
	var who []string
	for a := range f.notIndependent {
		who = append(who, a)
	}
	sort.Strings(who)
	if len(who) == 0 {
		return "involved in the work"
	}
	return strings.Join(who, ", ")
}

// proofOf finds current proof of a kind on a task: not a transcript, not
// superseded, and its bytes still in the store.
func (l *Ledger) proofOf(tx fairway.Tx, task, kind string) (*fairway.Evidence, string, error) {
	list, err := tx.LatestProof(task, kind)
	if err != nil {
		return nil, "", err
	}
	problem := ""
	for _, e := range list {
		if !fairway.CountsAsProof(e) {
			continue
		}
		if l.Blobs != nil {
			size, err := l.Blobs.Stat(context.Background(), e.Digest)
			if err != nil || size != e.Size {
				problem = fmt.Sprintf("%s is no longer intact in the blob store", e.ID)
				continue
			}
		}
		return e, "", nil
	}
	return nil, problem, nil
}

func (l *Ledger) evidenceRequirement(tx fairway.Tx, f *facts, n *policy.Need) (fairway.Requirement, error) {
	r := fairway.Requirement{}
	e, problem, err := l.proofOf(tx, f.task.Key, n.Name)
	if err != nil {
		return r, err
	}
	if e != nil {
		r.State, r.Detail = fairway.ReqSatisfied, fmt.Sprintf("%s recorded by %s at %s", e.ID, e.RecordedBy, e.RecordedAt.Format(time.RFC3339))
	} else {
		r.State = fairway.ReqUnsatisfied
		r.Detail = "no " + n.Name + " evidence on the task"
		if problem != "" {
			r.Detail += "; " + problem
		}
		r.Remedy = fmt.Sprintf("record %s evidence: `fairway evidence add --task %s --kind %s FILE` (a transcript or claim does not count)", n.Name, f.task.Key, n.Name)
	}
	return r, nil
}

func (l *Ledger) prerequisiteRequirement(tx fairway.Tx, f *facts, n *policy.Need) (fairway.Requirement, error) {
	r := fairway.Requirement{State: fairway.ReqUnsatisfied}
	pr := n.Prerequisite
	var ways []string
	byRef := func(ref *policy.EvidenceRef) (string, error) {
		taskKey := orText(ref.Task, f.task.Key)
		e, _, err := l.proofOf(tx, taskKey, ref.Kind)
		if err != nil {
			return "", err
		}
		if e != nil {
			return fmt.Sprintf("%s evidence %s on %s", ref.Kind, e.ID, taskKey), nil
		}
		ways = append(ways, fmt.Sprintf("record %s evidence on %s", ref.Kind, taskKey))
		return "", nil
	}
	if pr.Evidence != nil {
		got, err := byRef(pr.Evidence)
		if err != nil {
			return r, err
		}
		if got != "" {
			r.State, r.Detail = fairway.ReqSatisfied, "satisfied by "+got
			return r, nil
		}
	}
	for _, alt := range pr.Alternatives {
		switch {
		case alt.TaskDone != "":
			t, err := tx.Task(alt.TaskDone)
			if err == nil && t.Status == fairway.StatusDone {
				r.State, r.Detail = fairway.ReqSatisfied, fmt.Sprintf("satisfied by %s: %s is done", orText(alt.Description, "alternative"), alt.TaskDone)
				return r, nil
			}
			status := "missing"
			if err == nil {
				status = t.Status
			} else if fairway.ErrorCode(err) != fairway.ENOTFOUND {
				return r, err
			}
			ways = append(ways, fmt.Sprintf("close %s (%s, now %s)", alt.TaskDone, orText(alt.Description, "alternative"), status))
		case alt.Evidence != nil:
			got, err := byRef(alt.Evidence)
			if err != nil {
				return r, err
			}
			if got != "" {
				r.State, r.Detail = fairway.ReqSatisfied, fmt.Sprintf("satisfied by %s: %s", orText(alt.Description, "alternative"), got)
				return r, nil
			}
		}
	}
	r.Detail = "not yet satisfied"
	r.Remedy = strings.Join(ways, "; or ")
	return r, nil
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
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
// Closing a task that proposes a policy puts that policy in force (R13).
func (l *Ledger) CloseTask(ctx context.Context, key string) (*fairway.GateDecision, error) {
	var d *fairway.GateDecision
	err := l.write(ctx, "task.close", key, func(w *write) error {
		tx, now := w.tx, w.now
		task, err := tx.Task(key)
		if err != nil {
			return err
		}
		if err := w.requireHuman("close a task", "Agents record evidence and ask for review"); err != nil {
			return err
		}
		switch task.Status {
		case fairway.StatusOpen, fairway.StatusInProgress, fairway.StatusInReview:
		case fairway.StatusBlocked:
			return fairway.Errorf(fairway.ECONFLICT, "task %s is blocked (waiting on %s); move it to in_progress or in_review before closing", key, task.WaitReason)
		default:
			return illegalTransition(key, task.Status, fairway.StatusDone)
		}
		f, err := l.gatherFacts(tx, task)
		if err != nil {
			return err
		}
		if d, err = l.decide(tx, f); err != nil {
			return err
		}
		if !d.Pass {
			e := &fairway.Error{Code: fairway.EGATEFAILED, Message: fmt.Sprintf("the gate for %s did not pass; run `fairway gate explain %s` to see what is unsatisfied", key, key)}
			return w.refuseWith(e, map[string]any{"code": e.Code, "decision": d})
		}
		from := task.Status
		task.Status, task.WaitReason, task.UpdatedAt, task.ClosedAt = fairway.StatusDone, "", now, now
		if err := tx.UpdateTask(task); err != nil {
			return err
		}
		if err := w.record(map[string]any{"from": from, "decision": d}); err != nil {
			return err
		}
		if f.proposal != nil {
			return activate(w, f.proposal, f.record)
		}
		return nil
	})
	if fairway.ErrorCode(err) == fairway.EGATEFAILED && d != nil && !d.Pass {
		return d, err
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// activate puts a proposed policy in force in the same transaction as the
// close of the task that carried it.
func activate(w *write, proposal, current *fairway.PolicyRecord) error {
	tx, now := w.tx, w.now
	if current != nil {
		current.State = fairway.PolicySuperseded
		if err := tx.UpdatePolicy(current); err != nil {
			return err
		}
	}
	proposal.State, proposal.ActivatedAt = fairway.PolicyActive, now
	if err := tx.UpdatePolicy(proposal); err != nil {
		return err
	}
	prev := ""
	if current != nil {
		prev = current.Digest
	}
	return w.recordAs("policy.activate", proposal.Digest, map[string]any{"digest": proposal.Digest, "task": proposal.Task, "replaces": prev})
}
