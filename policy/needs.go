package policy

import (
	"fmt"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"

	"fairway"
)

// Need kinds.
const (
	NeedReview       = "review"
	NeedEvidence     = "evidence"
	NeedPrerequisite = "prerequisite"
	NeedDeployRun    = "deploy-run"
)

// Need is one thing a task's gate requires because of the policy.
type Need struct {
	// ID names the requirement, e.g. review:security,
	// evidence:rollback-plan, prerequisite:mfa-live-drill. Waivers name
	// requirements by ID.
	ID   string
	Kind string
	// Name is the review domain, evidence kind or prerequisite name.
	Name string
	// Because lists why the policy asks for it.
	Because      []string
	MinApprovals int
	RequireMFA   bool
	// Protected marks controls of a protected change class: needed before
	// any mutating step, never waived (R5).
	Protected    bool
	Prerequisite *Prerequisite
	WaiverDomain string
}

// Activation is the CEL view of a task.
func Activation(t *fairway.Task) map[string]any {
	list := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return map[string]any{"task": map[string]any{
		"key": t.Key, "title": t.Title, "lane": t.Lane, "owner": t.Owner, "creator": t.Creator, "status": t.Status,
		"risk": t.Risk, "priority": int64(t.Priority), "mutating": t.Mutating, "labels": list(t.Labels),
		"review_domains": list(t.ReviewDomains), "surfaces": list(t.Scope.Surfaces), "change_classes": list(t.Scope.ChangeClasses),
		"contracts": list(t.Scope.Contracts), "paths": list(t.Scope.Paths),
	}}
}

// Needs lists what the policy requires of a task, merged by ID and sorted.
// proposesPolicy is true for a task that carries a policy proposal.
func (p *Policy) Needs(t *fairway.Task, proposesPolicy bool) ([]*Need, error) {
	byID := map[string]*Need{}
	add := func(n Need, because string) *Need {
		cur, ok := byID[n.ID]
		if !ok {
			c := n
			cur = &c
			byID[n.ID] = cur
		}
		cur.Because = append(cur.Because, because)
		cur.Protected = cur.Protected || n.Protected
		cur.RequireMFA = cur.RequireMFA || n.RequireMFA
		if cur.WaiverDomain == "" {
			cur.WaiverDomain = n.WaiverDomain
		}
		return cur
	}
	review := func(domain, because string, protected bool) {
		add(Need{ID: NeedReview + ":" + domain, Kind: NeedReview, Name: domain, MinApprovals: p.MinApprovals(domain),
			RequireMFA: p.RequiresMFA(domain), Protected: protected}, because)
	}
	evidence := func(kind, because string, protected bool, waiverDomain string) {
		add(Need{ID: NeedEvidence + ":" + kind, Kind: NeedEvidence, Name: kind, Protected: protected, WaiverDomain: waiverDomain}, because)
	}
	act := Activation(t)
	eval := func(where string, prg cel.Program) (bool, error) {
		return evalBool(where, prg, act)
	}

	for _, d := range t.ReviewDomains {
		if _, ok := p.ReviewDomains[d]; !ok {
			return nil, fairway.Errorf(fairway.EINVALID, "task %s asks for review domain %q, which the policy does not define; fix the task's domains", t.Key, d)
		}
		review(d, "the task names it", false)
	}
	for _, s := range t.Scope.Surfaces {
		surf := p.Surfaces[s]
		if surf == nil {
			continue
		}
		waiverDomain := surf.WaiverDomain
		if waiverDomain == "" && len(surf.ReviewDomains) > 0 {
			waiverDomain = surf.ReviewDomains[0]
		}
		for _, d := range surf.ReviewDomains {
			review(d, "surface "+s, false)
			if surf.RequireMFA {
				byID[NeedReview+":"+d].RequireMFA = true
			}
		}
		for _, k := range surf.Evidence {
			evidence(k, "surface "+s, false, waiverDomain)
		}
	}
	own := p.LayerOfLane(t.Lane)
	owners := p.ContractOwners(t.Scope.Contracts, t.Scope.Paths)
	for _, layer := range sortedKeys(owners) {
		if layer == own {
			continue
		}
		review(p.Layers[layer].ReviewDomain, fmt.Sprintf("touches %s, owned by layer %s", owners[layer], layer), false)
	}
	for _, c := range t.Scope.ChangeClasses {
		pc := p.ProtectedClasses[c]
		if pc == nil {
			continue
		}
		for _, d := range pc.Approvals {
			review(d, "protected change class "+c, true)
		}
		owner := ""
		if len(pc.Approvals) > 0 {
			owner = pc.Approvals[0] // never waived (R5); the domain that loses it if narrowed
		}
		evidence(pc.RollbackEvidence, "rollback criteria for protected change class "+c, true, owner)
	}
	for _, r := range p.Rules {
		ok, err := eval("rule "+r.Name, r.when)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		for _, d := range r.ReviewDomains {
			review(d, "rule "+r.Name, false)
		}
		for _, k := range r.Evidence {
			evidence(k, "rule "+r.Name, false, p.Waivers.Domain)
		}
		for _, env := range r.DeployRuns {
			e := p.Environments[env]
			add(Need{ID: NeedDeployRun + ":" + env, Kind: NeedDeployRun, Name: env, Protected: e != nil && e.Protected, WaiverDomain: p.Waivers.Domain}, "rule "+r.Name)
		}
	}
	for _, name := range sortedKeys(p.Prerequisites) {
		pr := p.Prerequisites[name]
		ok, err := eval("prerequisite "+name, pr.when)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		wd := pr.WaiverDomain
		if wd == "" {
			wd = p.Waivers.Domain
		}
		add(Need{ID: NeedPrerequisite + ":" + name, Kind: NeedPrerequisite, Name: name, Prerequisite: pr, WaiverDomain: wd}, pr.Description)
	}
	if proposesPolicy {
		for _, d := range p.Owners {
			review(d, "the task changes the governance policy", false)
		}
	}
	if len(byID) == 0 && p.Defaults != nil {
		// Nothing else applies: the defaults keep the gate from passing
		// over nothing.
		if layer := p.LayerOfLane(t.Lane); p.Defaults.LayerReview && layer != "" {
			review(p.Layers[layer].ReviewDomain, fmt.Sprintf("default: no other requirement applies; layer %s owns lane %s", layer, t.Lane), false)
		} else {
			for _, d := range p.Defaults.ReviewDomains {
				review(d, "default: no other requirement applies", false)
			}
		}
	}
	out := make([]*Need, 0, len(byID))
	for _, n := range byID {
		if n.WaiverDomain == "" {
			n.WaiverDomain = p.Waivers.Domain
		}
		out = append(out, n)
	}
	order := map[string]int{NeedReview: 0, NeedEvidence: 1, NeedPrerequisite: 2, NeedDeployRun: 3}
	sort.Slice(out, func(i, j int) bool {
		if order[out[i].Kind] != order[out[j].Kind] {
			return order[out[i].Kind] < order[out[j].Kind]
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// ProtectedClasses returns the protected change classes a task touches.
func (p *Policy) ProtectedClassesOf(t *fairway.Task) []string {
	var out []string
	for _, c := range t.Scope.ChangeClasses {
		if p.ProtectedClasses[c] != nil {
			out = append(out, c)
		}
	}
	return out
}

// IsSafeFallback reports whether a task counts as safe work while its
// lane waits: labelled as such, not mutating, and touching no protected
// change class.
func (p *Policy) IsSafeFallback(t *fairway.Task) bool {
	if t.Mutating || len(p.ProtectedClassesOf(t)) > 0 {
		return false
	}
	for _, l := range t.Labels {
		for _, s := range p.Fallback.SafeLabels {
			if l == s {
				return true
			}
		}
	}
	return false
}

// Describe joins a need's reasons for people.
func (n *Need) Describe() string { return strings.Join(n.Because, "; ") }
