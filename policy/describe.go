package policy

import (
	"slices"
	"sort"

	"fairway"
)

// KindHelp is what an agent needs to know about one evidence kind: does
// it count as proof, and what must it show to count.
type KindHelp struct {
	Kind string `json:"kind"`
	// Proof is false for context evidence (transcripts, chat), which never
	// satisfies a requirement (R11).
	Proof bool `json:"proof"`
	// Success says what the evidence must show for a gate to count it.
	Success     string `json:"success"`
	Description string `json:"description,omitempty"`
}

// KnownKinds lists the evidence kinds p names (in evidence_kinds, surfaces,
// rules, protected classes and prerequisites) with the built-in kinds,
// sorted; the built-in kinds alone when p is nil.
func (p *Policy) KnownKinds() []string {
	set := map[string]bool{}
	for _, k := range fairway.EvidenceKinds {
		set[k] = true
	}
	if p != nil {
		for k := range p.EvidenceKinds {
			set[k] = true
		}
		for _, s := range p.Surfaces {
			for _, k := range s.Evidence {
				set[k] = true
			}
		}
		for _, r := range p.Rules {
			for _, k := range r.Evidence {
				set[k] = true
			}
		}
		for _, c := range p.ProtectedClasses {
			if c.RollbackEvidence != "" {
				set[c.RollbackEvidence] = true
			}
		}
		for _, pr := range p.Prerequisites {
			if pr.Evidence != nil && pr.Evidence.Kind != "" {
				set[pr.Evidence.Kind] = true
			}
			for _, a := range pr.Alternatives {
				if a.Evidence != nil && a.Evidence.Kind != "" {
					set[a.Evidence.Kind] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Help says, for an evidence kind under p (the defaults when p is nil),
// whether it counts as proof and what success means.
func (p *Policy) Help(kind string) KindHelp {
	h := KindHelp{Kind: kind, Proof: kind != fairway.EvidenceContext}
	if p != nil && p.EvidenceKinds[kind] != nil {
		h.Description = p.EvidenceKinds[kind].Description
	}
	if !h.Proof {
		h.Success = "never counts: context (transcripts, chat) is shown to reviewers, never proof"
		return h
	}
	s := p.SuccessOf(kind)
	switch s.Format {
	case "command":
		if s.ExitCode == "any" {
			h.Success = "a recorded command, whatever its exit code"
		} else {
			h.Success = "a recorded command that exited 0 (`fairway run`)"
		}
	case "junit":
		if s.Tests == "no-failures" {
			h.Success = "a JUnit XML report with no failed or errored test"
		} else {
			h.Success = "a JUnit XML report with at least one test and none failed or errored"
		}
	case "sarif":
		h.Success = "a SARIF report with no finding at " + s.SARIFThreshold + " level or above"
	default:
		h.Success = "present and intact; a command recorded with it must have exited 0"
		if s.ExitCode == "any" {
			h.Success = "present and intact, whatever a recorded command exited with"
		}
	}
	return h
}

// KindsHelp is Help for every kind p knows, kinds in first first.
func (p *Policy) KindsHelp(first ...string) []KindHelp {
	kinds := p.KnownKinds()
	slices.SortStableFunc(kinds, func(a, b string) int {
		ia, ib := slices.Contains(first, a), slices.Contains(first, b)
		switch {
		case ia && !ib:
			return -1
		case ib && !ia:
			return 1
		}
		return 0
	})
	out := make([]KindHelp, len(kinds))
	for i, k := range kinds {
		out[i] = p.Help(k)
	}
	return out
}
