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

// AddReview records a verdict for one domain of a task: an approval, a
// change request with concrete items, or the resolution of a change
// request. Only independent human members of the domain review (R1, R2);
// an approval that needs MFA needs it asserted by the identity provider
// (R6). Every refusal is audited.
func (l *Ledger) AddReview(ctx context.Context, in fairway.ReviewAdd) (*fairway.Review, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(in); err != nil {
		return nil, err
	}
	var out *fairway.Review
	err := l.write(ctx, "review."+in.Verdict, in.Task, func(w *write) error {
		w.taskScoped = true // human-only: requireHuman refuses sessions and agents
		tx, by, auth, now := w.tx, w.by, w.auth, w.now
		task, err := tx.Task(in.Task)
		if err != nil {
			return err
		}
		f, err := l.gatherFacts(tx, task)
		if err != nil {
			return err
		}
		if f.policy == nil {
			return fairway.Errorf(fairway.ECONFLICT, "no governance policy is in force, so there are no review domains; bootstrap one with `fairway policy apply FILE`")
		}
		if _, ok := f.policy.ReviewDomains[in.Domain]; !ok {
			return fairway.FieldError("domain", "review domain %q is not defined by the policy in force; known domains: %s", in.Domain, strings.Join(domainNames(f.policy), ", "))
		}
		refuse := w.refuse
		if err := w.requireHuman("review", "Agents may execute and summarise; reviews are for independent humans"); err != nil {
			return err
		}
		if !f.policy.IsMember(in.Domain, by.Name, auth.Groups) {
			return refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("%s is not a member of review domain %s; members: %s", by.Name, in.Domain, l.membersText(f.policy, in.Domain))})
		}
		if fairway.IsTerminal(task.Status) {
			return fairway.Errorf(fairway.ECONFLICT, "task %s is %s; it takes no more reviews", in.Task, task.Status)
		}
		// What the reviewer judged must be what the review binds: a
		// change recorded between their look and their verdict (new
		// evidence, a new title) was never judged (R4).
		if in.Snapshot != "" && in.Snapshot != f.snapshot.digest {
			return refuse(&fairway.Error{Code: fairway.ECONFLICT, Message: fmt.Sprintf("%s changed since the snapshot you judged (%s; it is now %s): its title, scope or evidence moved on. Look again (`fairway gate explain %s`, `fairway evidence list --task %s`) and review what it is now",
				in.Task, in.Snapshot, f.snapshot.digest, in.Task, in.Task)})
		}
		rv := &fairway.Review{Task: in.Task, Domain: in.Domain, Reviewer: by.Name, ReviewerKind: by.Kind, Verdict: in.Verdict,
			Items: in.Items, Comment: in.Comment, Snapshot: f.snapshot.digest, MFA: auth.MFA, TokenIssuedBy: w.vouchedBy(), At: now}
		switch in.Verdict {
		case fairway.VerdictApproved, fairway.VerdictChangesRequested:
			excluded, err := notIndependentEver(tx, task)
			if err != nil {
				return err
			}
			if why := notIndependentReview(rv, excluded); why != "" {
				return refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("%s is not independent of %s: %s %s; ask another member of %s",
					by.Name, in.Task, by.Name, why, l.membersText(f.policy, in.Domain))})
			}
		case fairway.VerdictResolved:
			id, err := openRequest(f.reviews, in.Domain, in.Resolves)
			if err != nil {
				return err
			}
			rv.Resolves = id
			// The reviewer who asked may say it was done; anyone else
			// resolving it judges the work, so is independent of it (R2).
			if requester(f.reviews, id) != by.Name {
				excluded, err := notIndependentEver(tx, task)
				if err != nil {
					return err
				}
				if why := excluded[by.Name]; why != "" {
					return refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("%s is not independent of %s: %s %s; change request %d is resolved by %s, who made it, or another member of %s",
						by.Name, in.Task, by.Name, why, id, requester(f.reviews, id), l.membersText(f.policy, in.Domain))})
				}
			}
		}
		if in.Verdict == fairway.VerdictApproved && needsMFA(f.needs, in.Domain, f.policy) {
			if auth.MFA == nil || !auth.MFA.MFA {
				reason := "no MFA posture: local mode and plain tokens carry none; approve through the server with an OIDC token"
				if auth.MFA != nil {
					reason = "the identity provider's token shows no fresh second factor (amr " + strings.Join(auth.MFA.AMR, ",") + ")"
				}
				e := &fairway.Error{Code: fairway.ESTEPUP, Message: fmt.Sprintf("approving %s for %s needs MFA asserted by the identity provider: %s; sign in again with MFA", in.Task, in.Domain, reason),
					StepUp: &fairway.StepUp{ACRValues: l.StepUpACR, MaxAge: int(l.MFAMaxAge / time.Second)}}
				return refuse(e)
			}
		}
		if err := tx.InsertReview(rv); err != nil {
			return err
		}
		out = rv
		return w.record(rv)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func domainNames(p *policy.Policy) []string {
	var out []string
	for d := range p.ReviewDomains {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// requester is who made change request id.
func requester(reviews []*fairway.Review, id int64) string {
	for _, r := range reviews {
		if r.ID == id {
			return r.Reviewer
		}
	}
	return ""
}

// openRequest picks the change request a resolution closes.
func openRequest(reviews []*fairway.Review, domain string, want int64) (int64, error) {
	resolved := map[int64]bool{}
	for _, r := range reviews {
		if r.Verdict == fairway.VerdictResolved {
			resolved[r.Resolves] = true
		}
	}
	var open []int64
	for _, r := range reviews {
		if r.Domain == domain && r.Verdict == fairway.VerdictChangesRequested && !resolved[r.ID] {
			if want != 0 && r.ID == want {
				return want, nil
			}
			open = append(open, r.ID)
		}
	}
	switch {
	case want != 0:
		return 0, fairway.FieldError("resolves", "change request %d is not open for domain %s", want, domain)
	case len(open) == 0:
		return 0, fairway.Errorf(fairway.ECONFLICT, "there is no open change request for domain %s to resolve", domain)
	case len(open) > 1:
		return 0, fairway.FieldError("resolves", "domain %s has %d open change requests (%v); name one with --request ID", domain, len(open), open)
	}
	return open[0], nil
}

// ListReviews lists a task's verdicts.
func (l *Ledger) ListReviews(ctx context.Context, task string) ([]*fairway.Review, error) {
	out := []*fairway.Review{}
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		if _, err := tx.Task(task); err != nil {
			return err
		}
		list, err := tx.Reviews(task)
		if list != nil {
			out = list
		}
		return err
	})
	return out, err
}

// RequestWaiver records a request to lift one requirement of a task or a
// lane until a given time. Anyone may ask; it counts once approved.
func (l *Ledger) RequestWaiver(ctx context.Context, in fairway.WaiverRequest) (*fairway.Waiver, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(in); err != nil {
		return nil, err
	}
	var out *fairway.Waiver
	err := l.write(ctx, "waiver.request", orText(in.Task, in.Lane), func(w *write) error {
		if in.Task != "" {
			if err := w.onTask(in.Task); err != nil {
				return err
			}
		}
		tx, by, now := w.tx, w.by, w.now
		if !in.ExpiresAt.After(now) {
			return fairway.FieldError("expires_at", "%s is in the past", in.ExpiresAt.UTC().Format(time.RFC3339))
		}
		p, _, err := l.activePolicy(tx)
		if err != nil {
			return err
		}
		if p == nil {
			return fairway.Errorf(fairway.ECONFLICT, "no governance policy is in force, so there is nothing to waive")
		}
		if p.Waivers.MaxDays > 0 && in.ExpiresAt.Sub(now) > time.Duration(p.Waivers.MaxDays)*24*time.Hour {
			return fairway.FieldError("expires_at", "waivers last at most %d days under the policy in force", p.Waivers.MaxDays)
		}
		domain, err := l.waiverDomain(tx, p, in)
		if err != nil {
			return err
		}
		out = &fairway.Waiver{Task: in.Task, Lane: in.Lane, Requirement: in.Requirement, Reason: strings.TrimSpace(in.Reason),
			RequestedBy: by.Name, RequestedAt: now, ExpiresAt: in.ExpiresAt.UTC(), Domain: domain}
		if err := tx.InsertWaiver(out); err != nil {
			return err
		}
		return w.record(out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// waiverDomain finds who may approve a waiver of the requirement, and
// refuses requirements that cannot be waived: the requirement's kind
// decides.
func (l *Ledger) waiverDomain(tx fairway.Tx, p *policy.Policy, in fairway.WaiverRequest) (string, error) {
	kind, _, _ := strings.Cut(in.Requirement, ":")
	k, ok := requirementKinds[kind]
	if !ok || k.request == nil {
		return "", fairway.FieldError("requirement", "%q is not a requirement id: use one shown by `fairway gate explain`", in.Requirement)
	}
	return k.request(l, tx, p, in)
}

// ApproveWaiver puts a requested waiver in force. The approver is an
// independent human of the requirement's owning domain, not the requester.
func (l *Ledger) ApproveWaiver(ctx context.Context, id int64) (*fairway.Waiver, error) {
	var out *fairway.Waiver
	err := l.write(ctx, "waiver.approve", "", func(wr *write) error {
		tx, by, auth, now := wr.tx, wr.by, wr.auth, wr.now
		w, err := tx.Waiver(id)
		if err != nil {
			return err
		}
		wr.subject = orText(w.Task, w.Lane)
		refuse := wr.refuse
		if err := wr.requireHuman("approve a waiver", ""); err != nil {
			return err
		}
		if w.ApprovedBy != "" {
			return fairway.Errorf(fairway.ECONFLICT, "waiver %d was already approved by %s", id, w.ApprovedBy)
		}
		if !now.Before(w.ExpiresAt) {
			return fairway.Errorf(fairway.ECONFLICT, "waiver %d expired at %s; request a new one", id, w.ExpiresAt.Format(time.RFC3339))
		}
		p, _, err := l.activePolicy(tx)
		if err != nil {
			return err
		}
		if p == nil || !p.IsMember(w.Domain, by.Name, auth.Groups) {
			return refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("waiver %d must be approved by a member of %s; %s is not one", id, w.Domain, by.Name)})
		}
		if by.Name == w.RequestedBy {
			return refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("%s requested waiver %d and cannot also approve it", by.Name, id)})
		}
		// An approval made with a token another actor issued is theirs too.
		as := &fairway.Review{Reviewer: by.Name, TokenIssuedBy: wr.vouchedBy()}
		if v := as.TokenIssuedBy; v != "" && v == w.RequestedBy {
			return refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("%s acts with a token issued by %s, who requested waiver %d and cannot also approve it", by.Name, v, id)})
		}
		// Lifting a requirement of a domain that asks for MFA is as
		// sensitive as approving for it (R6): on a task, as approving
		// for it on that task is (a surface may ask it there).
		var task *fairway.Task
		mfa, on := p.RequiresMFA(w.Domain), ""
		if w.Task != "" {
			if task, err = tx.Task(w.Task); err != nil {
				return err
			}
			if !mfa {
				f, err := l.gatherFacts(tx, task)
				if err != nil {
					return err
				}
				mfa, on = needsMFA(f.needs, w.Domain, p), " on "+w.Task
			}
		}
		if mfa && (auth.MFA == nil || !auth.MFA.MFA) {
			return refuse(&fairway.Error{Code: fairway.ESTEPUP, Message: fmt.Sprintf("approving waiver %d for %s needs MFA asserted by the identity provider, as approving for %s%s does; sign in again with MFA", id, w.Domain, w.Domain, on),
				StepUp: &fairway.StepUp{ACRValues: l.StepUpACR, MaxAge: int(l.MFAMaxAge / time.Second)}})
		}
		if task != nil {
			excluded, err := notIndependentEver(tx, task)
			if err != nil {
				return err
			}
			if why := notIndependentReview(as, excluded); why != "" {
				return refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("%s is not independent of %s (%s) and cannot approve its waiver", by.Name, w.Task, why)})
			}
		}
		w.ApprovedBy, w.ApprovedAt = by.Name, now
		if err := tx.UpdateWaiver(w); err != nil {
			return err
		}
		out = w
		return wr.record(w)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListWaivers lists the waivers of a task and of a lane.
func (l *Ledger) ListWaivers(ctx context.Context, task, lane string) ([]*fairway.Waiver, error) {
	out := []*fairway.Waiver{}
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		list, err := tx.Waivers(task, lane)
		if list != nil {
			out = list
		}
		return err
	})
	return out, err
}
