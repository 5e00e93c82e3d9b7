package ledger

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"fairway"
	"fairway/policy"
)

// reviewKind: independent, current approvals of a domain and no open
// change request (R2, R4, R6). Review is never waived.
var reviewKind = requirementKind{
	evaluate: func(l *Ledger, _ fairway.Tx, f *facts, n *policy.Need) (fairway.Requirement, error) {
		return l.reviewRequirement(f, n), nil
	},
	waiver: func(n *policy.Need) (string, error) {
		return "", fairway.FieldError("requirement", "independent review cannot be waived; ask a member of %s", n.Name)
	},
	request: func(_ *Ledger, _ fairway.Tx, _ *policy.Policy, in fairway.WaiverRequest) (string, error) {
		_, domain, _ := strings.Cut(in.Requirement, ":")
		return "", fairway.FieldError("requirement", "independent review cannot be waived; ask a member of %s", domain)
	},
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
	var approvals []*fairway.Review
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
			switch why := notIndependentReview(rv, f.notIndependent); {
			case why != "":
				notIndependent = append(notIndependent, rv.Reviewer+" ("+why+")")
			case !f.snapshot.approves(rv.Snapshot):
				if !slices.Contains(stale, rv.Reviewer) {
					stale = append(stale, rv.Reviewer)
				}
			case n.RequireMFA && (rv.MFA == nil || !rv.MFA.MFA):
				noMFA = append(noMFA, rv.Reviewer)
			default:
				approvals = append(approvals, rv)
			}
		}
	}
	names := distinctApprovers(approvals)
	var detail []string
	detail = append(detail, fmt.Sprintf("%d of %d approval(s)", len(names), n.MinApprovals))
	if len(names) > 0 {
		detail[0] += " by " + strings.Join(names, ", ")
	}
	if len(stale) > 0 {
		detail = append(detail, "stale (title, scope or evidence changed since): "+strings.Join(stale, ", "))
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

// strayChangeRequests has one unsatisfied requirement per domain whose
// change request is open on the task though the policy asks that domain
// for no review of it: a change request blocks until it is resolved,
// whichever member of whichever domain made it (R2, R3), while the
// policy in force still has that domain. Never waived.
func strayChangeRequests(f *facts) []fairway.Requirement {
	required := map[string]bool{}
	for _, n := range f.needs {
		if n.Kind == policy.NeedReview {
			required[n.Name] = true
		}
	}
	resolved := map[int64]bool{}
	for _, rv := range f.reviews {
		if rv.Verdict == fairway.VerdictResolved {
			resolved[rv.Resolves] = true
		}
	}
	open := map[string][]string{}
	var domains []string
	for _, rv := range f.reviews {
		if rv.Verdict != fairway.VerdictChangesRequested || resolved[rv.ID] || required[rv.Domain] {
			continue
		}
		if f.policy == nil || f.policy.ReviewDomains[rv.Domain] == nil {
			// A governed policy change removed the domain: no one is
			// left who could resolve its request.
			continue
		}
		if _, seen := open[rv.Domain]; !seen {
			domains = append(domains, rv.Domain)
		}
		open[rv.Domain] = append(open[rv.Domain], fmt.Sprintf("#%d by %s: %s", rv.ID, rv.Reviewer, strings.Join(rv.Items, "; ")))
	}
	sort.Strings(domains)
	out := make([]fairway.Requirement, 0, len(domains))
	for _, d := range domains {
		out = append(out, fairway.Requirement{ID: policy.NeedReview + ":" + d, Kind: policy.NeedReview, Name: d, State: fairway.ReqUnsatisfied,
			Because: "a member of " + d + " requested changes, and a change request blocks until it is resolved",
			Detail:  "open change requests: " + strings.Join(open[d], " | "),
			Remedy: fmt.Sprintf("make the requested changes, then the reviewer who asked, or another member of %s independent of the task, resolves the request: `fairway review resolve %s --domain %s`",
				d, f.task.Key, d)})
	}
	return out
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

// needsMFA reports whether an approval for domain needs MFA on this task:
// the domain always needs it, or a surface of the task asks for it.
func needsMFA(needs []*policy.Need, domain string, p *policy.Policy) bool {
	if p.RequiresMFA(domain) {
		return true
	}
	for _, n := range needs {
		if n.Kind == policy.NeedReview && n.Name == domain && n.RequireMFA {
			return true
		}
	}
	return false
}
