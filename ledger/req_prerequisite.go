package ledger

import (
	"fmt"
	"strings"

	"fairway"
	"fairway/policy"
)

// prerequisiteKind: evidence that must exist before matching gates pass,
// or one of its alternatives (a task done, other evidence). Its waiver
// domain, or the policy's, may lift it.
var prerequisiteKind = requirementKind{
	evaluate: (*Ledger).prerequisiteRequirement,
	waiver:   waiverUnlessProtected,
	proof: func(task string, n *policy.Need) []proofRef {
		pr := n.Prerequisite
		var refs []proofRef
		add := func(ref *policy.EvidenceRef) {
			if ref != nil {
				refs = append(refs, proofRef{task: orText(ref.Task, task), kind: ref.Kind})
			}
		}
		add(pr.Evidence)
		for _, alt := range pr.Alternatives {
			add(alt.Evidence)
		}
		return refs
	},
	request: func(_ *Ledger, _ fairway.Tx, p *policy.Policy, in fairway.WaiverRequest) (string, error) {
		_, name, _ := strings.Cut(in.Requirement, ":")
		pr := p.Prerequisites[name]
		if pr == nil {
			return "", fairway.FieldError("requirement", "prerequisite %q is not in the policy in force", name)
		}
		return orText(pr.WaiverDomain, p.Waivers.Domain), nil
	},
}

func (l *Ledger) prerequisiteRequirement(tx fairway.Tx, f *facts, n *policy.Need) (fairway.Requirement, error) {
	r := fairway.Requirement{State: fairway.ReqUnsatisfied}
	pr := n.Prerequisite
	var ways []string
	byRef := func(ref *policy.EvidenceRef) (string, error) {
		taskKey := orText(ref.Task, f.task.Key)
		p, err := l.proofOf(tx, f, taskKey, ref.Kind)
		if err != nil {
			return "", err
		}
		switch {
		case p.e == nil:
			ways = append(ways, fmt.Sprintf("record %s evidence on %s", ref.Kind, taskKey))
		case !p.v.ok:
			ways = append(ways, fmt.Sprintf("%s evidence that shows success on %s (%s %s: %s)", ref.Kind, taskKey, p.e.ID, p.v.failure, p.v.remedy))
		case taskKey != f.task.Key:
			// Evidence on another task is judged by no approval of this
			// one (its snapshot does not bind it): it counts once a
			// human of the prerequisite's domain recorded it, that task
			// passed its own gate, or the domain approved that task as
			// it now stands.
			domain := orText(pr.WaiverDomain, f.policy.Waivers.Domain)
			by, err := l.approvedElsewhere(tx, f.policy, p.e, domain)
			if err != nil {
				return "", err
			}
			if by == "" {
				if other, err := tx.Task(taskKey); err == nil && fairway.IsTerminal(other.Status) {
					ways = append(ways, fmt.Sprintf("%s evidence %s was recorded on %s after it was %s, so no gate or review judged it: a human member of %s records the %s evidence on %s with their own credential",
						ref.Kind, p.e.ID, taskKey, other.Status, domain, ref.Kind, taskKey))
					return "", nil
				} else if err != nil && fairway.ErrorCode(err) != fairway.ENOTFOUND {
					return "", err
				}
				ways = append(ways, fmt.Sprintf("an independent member of %s approves %s evidence %s on %s as it now stands: `fairway review approve %s --domain %s`",
					domain, ref.Kind, p.e.ID, taskKey, taskKey, domain))
				return "", nil
			}
			return fmt.Sprintf("%s evidence %s on %s, %s", ref.Kind, p.e.ID, taskKey, by), nil
		default:
			return fmt.Sprintf("%s evidence %s on %s", ref.Kind, p.e.ID, taskKey), nil
		}
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

// approvedElsewhere says how evidence on another task was approved for
// a prerequisite owned by domain, or "" when it was not: a human member
// of domain recorded it with their own credential, its task is done (its
// own gate judged its evidence), or an independent member of domain
// approved the task's current snapshot (its title, scope and proof as
// they now stand), with MFA when the domain asks for it. Evidence recorded
// after the approval makes it stale, as it does a review.
func (l *Ledger) approvedElsewhere(tx fairway.Tx, p *policy.Policy, e *fairway.Evidence, domain string) (string, error) {
	if e.RecordedByKind == fairway.KindHuman && e.Session == "" && p.IsMember(domain, e.RecordedBy, nil) {
		return fmt.Sprintf("recorded by %s of %s", e.RecordedBy, domain), nil
	}
	key := e.Task
	task, err := tx.Task(key)
	if err != nil {
		return "", err
	}
	if task.Status == fairway.StatusDone {
		// Its gate judged what it held when it closed; a record added
		// since was judged by no one.
		if !e.RecordedAt.After(task.ClosedAt) {
			return "which passed its own gate", nil
		}
		return "", nil
	}
	_, chain, err := tx.ProofChain(key)
	if err != nil {
		return "", err
	}
	proposal, err := tx.PolicyProposal(key)
	if fairway.ErrorCode(err) == fairway.ENOTFOUND {
		proposal = nil
	} else if err != nil {
		return "", err
	}
	snapshot := taskSnapshot(task, chain, proposal)
	reviews, err := tx.Reviews(key)
	if err != nil {
		return "", err
	}
	excluded, err := notIndependent(tx, task)
	if err != nil {
		return "", err
	}
	for _, rv := range reviews {
		if rv.Domain != domain || rv.Verdict != fairway.VerdictApproved || !snapshot.approves(rv.Snapshot) || excluded[rv.Reviewer] != "" {
			continue
		}
		if p.RequiresMFA(domain) && (rv.MFA == nil || !rv.MFA.MFA) {
			continue
		}
		return fmt.Sprintf("approved by %s for %s", rv.Reviewer, domain), nil
	}
	return "", nil
}
