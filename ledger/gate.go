package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
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
	// laneExcluded holds everyone who may not lift a requirement of the
	// task through a lane's waiver: notIndependent and every former
	// owner. Read only when the task's lane has an approved waiver.
	laneExcluded map[string]string
	snapshot     snapshot
	now          time.Time
	// scope holds the task's scope checks and acknowledgements.
	scope []*fairway.ScopeRecord
	// blobs is what the blob store held when checked before the
	// transaction; set by decide.
	blobs *blobCheck
	// proofs holds the current proof records of every kind the needs
	// read, newest first, read together by decide.
	proofs map[proofRef][]*fairway.Evidence
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
	if f.scope, err = tx.ScopeRecords(task.Key); err != nil {
		return nil, err
	}
	widenByScope(f)
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
	if slices.ContainsFunc(f.waivers, func(w *fairway.Waiver) bool { return w.Task == "" && w.ApprovedBy != "" }) {
		if f.laneExcluded, err = notIndependentEver(tx, task); err != nil {
			return nil, err
		}
	}
	f.snapshot = taskSnapshot(task, chain, f.proposal)
	return f, nil
}

// snapshot binds approvals to what they judged: the task's title, scope
// and mutating flag, its proof evidence (through the task's proof chain),
// and any policy it proposes. Changing any of them makes earlier
// approvals stale (R4); an agent may retitle a task, so the title is
// bound too.
type snapshot struct {
	digest string
	// beforeTitles is the digest as approvals recorded it before titles
	// were bound. No approval recorded since carries it, so those keep
	// counting while their title is not bound.
	beforeTitles string
}

func taskSnapshot(t *fairway.Task, proofChain string, proposal *fairway.PolicyRecord) snapshot {
	return snapshot{digest: snapshotDigest(t, proofChain, proposal, true), beforeTitles: snapshotDigest(t, proofChain, proposal, false)}
}

// approves says an approval that recorded the digest judged this
// snapshot.
func (s snapshot) approves(recorded string) bool {
	return recorded == s.digest || recorded == s.beforeTitles
}

func snapshotDigest(t *fairway.Task, proofChain string, proposal *fairway.PolicyRecord, withTitle bool) string {
	scope, _ := fairway.CanonicalJSON(t.Scope)
	proposed := ""
	if proposal != nil {
		proposed = proposal.Digest
	}
	h := sha256.New()
	fmt.Fprintf(h, "task %s\n", t.Key)
	if withTitle {
		fmt.Fprintf(h, "title %q\n", t.Title)
	}
	fmt.Fprintf(h, "scope %s\nmutating %t\nproof %s\nproposed %s\n", scope, t.Mutating, proofChain, proposed)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// requirementKind is what one kind of requirement owns, each kind in its
// own req_*.go file: how it is evaluated, whether it can be waived and by
// which domain, and which proof it reads.
type requirementKind struct {
	// evaluate judges one policy need of the kind against the facts.
	evaluate func(l *Ledger, tx fairway.Tx, f *facts, n *policy.Need) (fairway.Requirement, error)
	// waiver names the domain that may lift the need, or says why none
	// may.
	waiver func(n *policy.Need) (string, error)
	// proof lists the evidence the need reads, so that its bytes can be
	// checked before the transaction; nil when it reads none.
	proof func(task string, n *policy.Need) []proofRef
	// request names the domain that may approve a waiver request for a
	// requirement of the kind, or refuses it.
	request func(l *Ledger, tx fairway.Tx, p *policy.Policy, in fairway.WaiverRequest) (string, error)
}

// requirementKinds maps a requirement ID's prefix to its kind.
var requirementKinds = map[string]requirementKind{
	policy.NeedReview:       reviewKind,
	policy.NeedEvidence:     evidenceKind,
	policy.NeedPrerequisite: prerequisiteKind,
	"dependency":            dependencyKind,
	"scope":                 scopeKind,
	policy.NeedDeployRun:    deployRunKind,
}

// evaluateGate is the one place that decides whether a task may close:
// dependencies, then every requirement of the policy in force. blobs is
// the check of evidence bytes made before the transaction.
func (l *Ledger) evaluateGate(tx fairway.Tx, task *fairway.Task, blobs *blobCheck) (*fairway.GateDecision, error) {
	f, err := l.gatherFacts(tx, task)
	if err != nil {
		return nil, err
	}
	return l.decide(tx, f, blobs)
}

// decide evaluates every requirement, each by its kind, and applies the
// waivers in force to those that can be waived.
func (l *Ledger) decide(tx fairway.Tx, f *facts, blobs *blobCheck) (*fairway.GateDecision, error) {
	f.blobs = blobs
	d := &fairway.GateDecision{Task: f.task.Key, DecidedAt: f.now, SnapshotDigest: f.snapshot.digest}
	if f.record != nil {
		d.PolicyDigest = f.record.Digest
	}
	d.Requirements = append(d.Requirements, policyRequirements(f)...)
	deps, err := l.dependencyRequirements(tx, f)
	if err != nil {
		return nil, err
	}
	d.Requirements = append(d.Requirements, deps...)
	if r, ok := scopeRequirement(f); ok {
		d.Requirements = append(d.Requirements, r)
	}
	var refs []proofRef
	for _, n := range f.needs {
		if k, ok := requirementKinds[n.Kind]; ok && k.proof != nil {
			refs = append(refs, k.proof(f.task.Key, n)...)
		}
	}
	if f.proofs, err = readProofs(tx, refs); err != nil {
		return nil, err
	}
	for _, n := range f.needs {
		k, ok := requirementKinds[n.Kind]
		if !ok || k.evaluate == nil {
			return nil, fmt.Errorf("requirement %s is of kind %q, which the gate cannot evaluate", n.ID, n.Kind)
		}
		r, err := k.evaluate(l, tx, f, n)
		if err != nil {
			return nil, err
		}
		r.ID, r.Kind, r.Name, r.Because, r.Protected = n.ID, n.Kind, n.Name, n.Describe(), n.Protected
		if domain, err := k.waiver(n); err == nil {
			applyWaiver(f, &r, domain)
		}
		d.Requirements = append(d.Requirements, r)
	}
	d.Requirements = append(d.Requirements, strayChangeRequests(f)...)
	d.Pass = !slices.ContainsFunc(d.Requirements, func(r fairway.Requirement) bool { return r.State == fairway.ReqUnsatisfied })
	if d.Latest, err = latestEvidence(tx, f); err != nil {
		return nil, err
	}
	return d, nil
}

// activeWaiver finds an approved, unexpired waiver for a requirement of
// the task or its lane, and says why each other approved one of its
// lane does not count. A task's waiver was refused to anyone not
// independent when approved; one approver may later become involved.
// A lane's waiver was approved before the task's involvement could be
// judged, so it counts for a task only when its approver is independent
// of that task (R2), it was approved by the domain that owns the
// requirement's waivers (domain), and approving for that domain on the
// task needs no MFA its approval was not asked for (R6).
func activeWaiver(f *facts, id, domain string) (*fairway.Waiver, []string) {
	var skipped []string
	for _, w := range f.waivers {
		if w.Requirement != id || !w.ActiveAt(f.now) {
			continue
		}
		switch {
		case w.Task == f.task.Key:
			if why := f.notIndependent[w.ApprovedBy]; why != "" {
				skipped = append(skipped, fmt.Sprintf("waiver %d does not count: its approver %s is no longer independent of %s (%s)", w.ID, w.ApprovedBy, f.task.Key, why))
				continue
			}
			return w, skipped
		case w.Task == "" && w.Lane != "" && w.Lane == f.task.Lane:
			if why := f.laneExcluded[w.ApprovedBy]; why != "" {
				skipped = append(skipped, fmt.Sprintf("waiver %d of lane %s does not count here: its approver %s is not independent of %s (%s)", w.ID, w.Lane, w.ApprovedBy, f.task.Key, why))
				continue
			}
			if domain != "" && w.Domain != domain {
				skipped = append(skipped, fmt.Sprintf("waiver %d of lane %s does not count here: it was approved for %s, and %s is waived by %s", w.ID, w.Lane, w.Domain, id, domain))
				continue
			}
			// Its approval asked MFA only if its domain always does;
			// lifting a requirement here is as sensitive as approving
			// for that domain on this task (R6).
			if f.policy != nil && !f.policy.RequiresMFA(w.Domain) && needsMFA(f.needs, w.Domain, f.policy) {
				skipped = append(skipped, fmt.Sprintf("waiver %d of lane %s does not count here: approving for %s on %s needs MFA, which a lane's waiver was not approved with; a waiver of %s itself, approved with MFA, can lift it", w.ID, w.Lane, w.Domain, f.task.Key, f.task.Key))
				continue
			}
			return w, skipped
		}
	}
	return nil, skipped
}

// applyWaiver shows the waiver in force on a requirement, and lifts the
// requirement when it is otherwise unsatisfied.
func applyWaiver(f *facts, r *fairway.Requirement, domain string) {
	w, skipped := activeWaiver(f, r.ID, domain)
	for _, s := range skipped {
		r.Detail += "; " + s
	}
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
	blobs, err := l.checkBlobs(ctx, key, false, statBlobs)
	if err != nil {
		return nil, err
	}
	var d *fairway.GateDecision
	err = l.store.View(ctx, func(tx fairway.Tx) error {
		task, err := tx.Task(key)
		if err != nil {
			return err
		}
		d, err = l.evaluateGate(tx, task, blobs)
		return err
	})
	return d, err
}

// CloseTask moves a task to done when its gate passes. Only a human may
// close (R1). When the latest evidence of some kind fails, the closer
// must acknowledge each such record by ID, and the close event names
// them. A refusal, for any reason, is written to the audit log. Closing a
// task that proposes a policy puts that policy in force (R13).
func (l *Ledger) CloseTask(ctx context.Context, key string, acknowledge ...string) (*fairway.GateDecision, error) {
	blobs, err := l.checkBlobs(ctx, key, false, hashBlobs)
	if err != nil {
		return nil, err
	}
	var d *fairway.GateDecision
	ackRefused := false // the gate passed, but failing evidence went unacknowledged
	err = l.write(ctx, "task.close", key, func(w *write) error {
		w.taskScoped = true // human-only: requireHuman refuses sessions and agents
		ackRefused = false
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
		// The gate reads rows; they count only as the events that wrote
		// them say (R8), so a review or record slipped into the store
		// closes nothing.
		if p, err := taskRowProblem(tx, key); err != nil {
			return err
		} else if p != nil {
			e := fairway.Errorf(fairway.ECONFLICT, "task %s cannot close: %s. Run `fairway audit verify` and restore the store from a copy that verifies", key, p.problem)
			return w.refuseWith(e, map[string]any{"code": e.Code, "reason": e.Message, "first_bad_seq": p.seq})
		}
		f, err := l.gatherFacts(tx, task)
		if err != nil {
			return err
		}
		if d, err = l.decide(tx, f, blobs); err != nil {
			return err
		}
		if !d.Pass {
			e := &fairway.Error{Code: fairway.EGATEFAILED, Message: fmt.Sprintf("the gate for %s did not pass; run `fairway gate explain %s` to see what is unsatisfied", key, key)}
			return w.refuseWith(e, map[string]any{"code": e.Code, "decision": d})
		}
		if e := acknowledgement(d, acknowledge); e != nil {
			ackRefused = true
			return w.refuseWith(e, map[string]any{"code": e.Code, "reason": e.Error(), "failing": d.Failing()})
		}
		from := task.Status
		task.Status, task.WaitReason, task.UpdatedAt, task.ClosedAt = fairway.StatusDone, "", now, now
		if err := tx.UpdateTask(task); err != nil {
			return err
		}
		change := map[string]any{"from": from, "decision": d, "task": task}
		if failing := d.Failing(); len(failing) > 0 {
			change["acknowledged"] = failing
		}
		if err := w.record(change); err != nil {
			return err
		}
		if f.proposal != nil {
			return activate(w, f.proposal, f.record)
		}
		return nil
	})
	if d != nil && (ackRefused || fairway.ErrorCode(err) == fairway.EGATEFAILED && !d.Pass) {
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
