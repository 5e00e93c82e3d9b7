package ledger

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"fairway"
	"fairway/policy"
)

// scopeKind: every path a change touched outside the task's declared
// scope is acknowledged by a human owner. Scope checks record the paths
// (CheckScope); the gate evaluates them apart from the policy's needs
// (scopeRequirement). No waiver lifts it: the acknowledgement is the
// human decision, made path by path.
var scopeKind = requirementKind{
	request: func(_ *Ledger, _ fairway.Tx, _ *policy.Policy, in fairway.WaiverRequest) (string, error) {
		return "", fairway.FieldError("requirement", "%s is not waived: a human owner acknowledges the paths with `fairway scope acknowledge TASK --paths PATH,…`", in.Requirement)
	},
}

// scopeRequirementID names the scope requirement of a task's gate.
const scopeRequirementID = "scope"

// scopeRequirement is satisfied when every path a scope check found
// outside the task's declared scope has been acknowledged; it names the
// open paths and the layer owning each. A task no check looked at has
// none (false): the gate does not list what nothing recorded.
func scopeRequirement(f *facts) (fairway.Requirement, bool) {
	r := fairway.Requirement{ID: scopeRequirementID, Kind: "scope", Name: "declared scope"}
	checks := 0
	owners := map[string][]string{}
	for _, rec := range f.scope {
		if rec.Kind != fairway.ScopeChecked {
			continue
		}
		checks++
		for layer, paths := range rec.Layers {
			for _, p := range paths {
				if !slices.Contains(owners[p], layer) {
					owners[p] = append(owners[p], layer)
				}
			}
		}
	}
	if checks == 0 {
		return r, false
	}
	open := unacknowledged(f.scope)
	if len(open) == 0 {
		r.State = fairway.ReqSatisfied
		r.Detail = fmt.Sprintf("%d scope check(s): every change lies inside the declared scope or was acknowledged", checks)
		return r, true
	}
	var named []string
	for _, p := range open {
		layers := owners[p]
		sort.Strings(layers)
		if len(layers) == 0 {
			named = append(named, p+" (no layer owns it)")
		} else {
			named = append(named, p+" (layer "+strings.Join(layers, ", ")+")")
		}
	}
	r.State = fairway.ReqUnsatisfied
	r.Detail = "changed outside the task's declared scope: " + strings.Join(named, "; ")
	r.Remedy = fmt.Sprintf("a human owner reviews and acknowledges them: `fairway scope acknowledge %s --paths %s`; or widen the task's scope to cover them (a human: `fairway task update %s --path GLOB`) and check again",
		f.task.Key, strings.Join(open, ","), f.task.Key)
	return r, true
}

// widenByScope adds to the facts' needs the review domains the task's
// scope checks touched, merged with the policy's own.
func widenByScope(f *facts) {
	if f.policy == nil {
		return
	}
	for _, n := range scopeWidening(f.policy, f.scope) {
		i := slices.IndexFunc(f.needs, func(m *policy.Need) bool { return m.ID == n.ID })
		if i >= 0 {
			merged := *f.needs[i]
			merged.Because = append(slices.Clone(merged.Because), n.Because...)
			f.needs[i] = &merged
			continue
		}
		if n.WaiverDomain == "" {
			n.WaiverDomain = f.policy.Waivers.Domain
		}
		f.needs = append(f.needs, n)
	}
	order := map[string]int{policy.NeedReview: 0, policy.NeedEvidence: 1, policy.NeedPrerequisite: 2, policy.NeedDeployRun: 3}
	sort.SliceStable(f.needs, func(i, j int) bool {
		if order[f.needs[i].Kind] != order[f.needs[j].Kind] {
			return order[f.needs[i].Kind] < order[f.needs[j].Kind]
		}
		return f.needs[i].Name < f.needs[j].Name
	})
}
