// Package policy loads the governance file (governance.yaml) and decides
// from it what a task's gate requires: review domains, evidence kinds,
// prerequisites with their alternatives, protected change classes and
// their approvals, with conditions written in CEL.
package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"
)

// Policy is a loaded, checked governance file.
type Policy struct {
	Version int `yaml:"version"`
	// Owners are the review domains whose approval a change of this
	// policy needs (R13).
	Owners           []string                   `yaml:"owners"`
	Groups           map[string][]string        `yaml:"groups"`
	Layers           map[string]*Layer          `yaml:"layers"`
	ReviewDomains    map[string]*ReviewDomain   `yaml:"review_domains"`
	Surfaces         map[string]*Surface        `yaml:"surfaces"`
	ProtectedClasses map[string]*ProtectedClass `yaml:"protected_change_classes"`
	Prerequisites    map[string]*Prerequisite   `yaml:"prerequisites"`
	Rules            []*Rule                    `yaml:"rules"`
	Fallback         Fallback                   `yaml:"fallback"`
	Secrets          Secrets                    `yaml:"secrets"`
	Waivers          WaiverPolicy               `yaml:"waivers"`
	// EvidenceKinds says per kind what evidence must show to count.
	EvidenceKinds map[string]*EvidenceKind `yaml:"evidence_kinds"`
	// Environments are where deploy-runs go.
	Environments map[string]*Environment `yaml:"environments"`
	// Webhooks configures the CI event endpoints, by source (github,
	// generic).
	Webhooks map[string]*Webhook `yaml:"webhooks"`
	// Defaults is what a task's gate requires when nothing else in the
	// policy applies to it, so that a gate never passes over nothing.
	Defaults *Defaults `yaml:"defaults"`

	// File, Source and Digest identify exactly what was loaded.
	File   string `yaml:"-"`
	Source []byte `yaml:"-"`
	Digest string `yaml:"-"`

	contractOwner []contractRule
}

// Layer is one side of the platform boundary: what it owns and which
// review domain speaks for it.
type Layer struct {
	Description  string   `yaml:"description"`
	Owns         []string `yaml:"owns"`
	ReviewDomain string   `yaml:"review_domain"`
	// Contracts are patterns: route:/v1/allocations/**, schema:…,
	// event:…, read-model:…, path:services/gpuaas/**.
	Contracts []string `yaml:"contracts"`
	// Lanes whose tasks belong to this layer.
	Lanes []string `yaml:"lanes"`
}

// ReviewDomain is who may review for an area, and how many must approve.
type ReviewDomain struct {
	Description  string   `yaml:"description"`
	Members      []string `yaml:"members"` // actor names, or group:NAME
	MinApprovals int      `yaml:"min_approvals"`
	RequireMFA   bool     `yaml:"require_mfa"`
}

// Surface is a part of the system with required controls.
type Surface struct {
	Description   string   `yaml:"description"`
	ReviewDomains []string `yaml:"review_domains"`
	Evidence      []string `yaml:"evidence"`
	RequireMFA    bool     `yaml:"require_mfa"`
	WaiverDomain  string   `yaml:"waiver_domain"`
}

// ProtectedClass is a change class that needs explicit approval and
// recorded rollback criteria before any mutating step (R5).
type ProtectedClass struct {
	Description string   `yaml:"description"`
	Approvals   []string `yaml:"approvals"`
	// RollbackEvidence is the evidence kind holding rollback criteria.
	RollbackEvidence string `yaml:"rollback_evidence"`
}

// EvidenceRef names evidence that satisfies something: of a kind, on a
// given task (or on the task being judged when Task is empty).
type EvidenceRef struct {
	Kind string `yaml:"kind"`
	Task string `yaml:"task"`
}

// Alternative is one other way to satisfy a prerequisite.
type Alternative struct {
	Description string       `yaml:"description"`
	TaskDone    string       `yaml:"task_done"`
	Evidence    *EvidenceRef `yaml:"evidence"`
	// Waiver: a recorded, approved waiver of the prerequisite satisfies it.
	Waiver bool `yaml:"waiver"`
}

// Prerequisite is evidence that must exist before matching gates pass.
type Prerequisite struct {
	Description  string        `yaml:"description"`
	When         string        `yaml:"when"`
	Evidence     *EvidenceRef  `yaml:"evidence"`
	Alternatives []Alternative `yaml:"alternatives"`
	WaiverDomain string        `yaml:"waiver_domain"`

	when cel.Program
}

// Rule adds requirements to tasks that match a CEL condition.
type Rule struct {
	Name          string   `yaml:"name"`
	When          string   `yaml:"when"`
	ReviewDomains []string `yaml:"review_domains"`
	Evidence      []string `yaml:"evidence"`
	// DeployRuns names environments where a run of the task must have
	// finished well.
	DeployRuns []string `yaml:"deploy_runs"`

	when cel.Program
}

// Defaults are the requirements of a task no other part of the policy
// covers: its lane's layer review when LayerReview is set and a layer
// owns the lane, otherwise the ReviewDomains.
type Defaults struct {
	LayerReview   bool     `yaml:"layer_review"`
	ReviewDomains []string `yaml:"review_domains"`
}

// Fallback says what counts as safe work while a lane waits. It never
// relaxes protected change classes.
type Fallback struct {
	Description string   `yaml:"description"`
	SafeLabels  []string `yaml:"safe_labels"`
}

// Secrets says, per evidence kind, what a secret found in it does.
type Secrets struct {
	Redact []string `yaml:"redact"`
	Refuse []string `yaml:"refuse"`
}

// WaiverPolicy bounds waivers.
type WaiverPolicy struct {
	// Domain approves waivers of requirements that name no domain.
	Domain  string `yaml:"domain"`
	MaxDays int    `yaml:"max_days"`
}

// SecretAction returns refuse or redact for an evidence kind. Kinds named
// nowhere are refused: the safe default.
func (p *Policy) SecretAction(kind string) string {
	if p != nil {
		for _, k := range p.Secrets.Redact {
			if k == kind {
				return "redact"
			}
		}
	}
	return "refuse"
}

// IsMember reports whether actor may review for domain: named directly,
// in a policy group the domain lists, or in such a group by the identity
// provider's say (actorGroups).
func (p *Policy) IsMember(domain, actor string, actorGroups []string) bool {
	d := p.ReviewDomains[domain]
	if d == nil {
		return false
	}
	for _, m := range d.Members {
		if g, ok := strings.CutPrefix(m, "group:"); ok {
			for _, a := range p.Groups[g] {
				if a == actor {
					return true
				}
			}
			for _, ag := range actorGroups {
				if ag == g {
					return true
				}
			}
		} else if m == actor {
			return true
		}
	}
	return false
}

// MinApprovals returns how many approvals a domain needs (at least one).
func (p *Policy) MinApprovals(domain string) int {
	if d := p.ReviewDomains[domain]; d != nil && d.MinApprovals > 0 {
		return d.MinApprovals
	}
	return 1
}

// RequiresMFA reports whether approving for domain needs MFA posture.
func (p *Policy) RequiresMFA(domain string) bool {
	d := p.ReviewDomains[domain]
	return d != nil && d.RequireMFA
}

// contractRule is one compiled contract pattern and its owning layer.
type contractRule struct {
	pattern string
	re      *regexp.Regexp
	layer   string
}

// globRE compiles a contract pattern: ** spans folders, * and ? stay in one.
func globRE(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// ContractOwners returns the layers owning the contracts and paths a
// scope touches, each with the contract that matched, sorted by layer.
func (p *Policy) ContractOwners(contracts, paths []string) map[string]string {
	out := map[string]string{}
	check := func(item string) {
		for _, cr := range p.contractOwner {
			if cr.re.MatchString(item) {
				if _, seen := out[cr.layer]; !seen {
					out[cr.layer] = item
				}
			}
		}
	}
	for _, c := range contracts {
		check(c)
	}
	for _, path := range paths {
		check("path:" + path)
	}
	return out
}

// LayerOfLane returns the layer a lane belongs to, or "".
func (p *Policy) LayerOfLane(lane string) string {
	for name, l := range p.Layers {
		for _, ln := range l.Lanes {
			if ln == lane {
				return name
			}
		}
	}
	return ""
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Error is one problem in a policy file, with its place.
type Error struct {
	File   string
	Line   int
	Column int
	Path   string
	Reason string
}

// String formats the problem as file:line:column: path: reason.
func (e Error) String() string {
	loc := fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	if e.Path != "" {
		return loc + ": " + e.Path + ": " + e.Reason
	}
	return loc + ": " + e.Reason
}

// LoadError lists every problem found in a policy file.
type LoadError struct {
	Errors []Error
}

// Error lists every problem, one a line.
func (e *LoadError) Error() string {
	var lines []string
	for _, x := range e.Errors {
		lines = append(lines, x.String())
	}
	return strings.Join(lines, "\n")
}

// OwnersOfPath returns the layers whose path: contracts match a
// repository path, sorted.
func (p *Policy) OwnersOfPath(path string) []string {
	var out []string
	for _, cr := range p.contractOwner {
		if strings.HasPrefix(cr.pattern, "path:") && cr.re.MatchString("path:"+path) && !slices.Contains(out, cr.layer) {
			out = append(out, cr.layer)
		}
	}
	sort.Strings(out)
	return out
}

// MatchPath reports whether a scope glob (** spans folders, * and ? stay
// in one; a trailing / or a plain folder name covers what is under it)
// matches a repository path.
func MatchPath(glob, path string) bool {
	glob = strings.TrimPrefix(glob, "path:")
	if glob == "" {
		return false
	}
	if strings.HasSuffix(glob, "/") {
		glob += "**"
	}
	re, err := globRE(glob)
	if err != nil {
		return false
	}
	if re.MatchString(path) {
		return true
	}
	// A folder named without a glob covers everything under it.
	return !strings.ContainsAny(glob, "*?") && strings.HasPrefix(path, glob+"/")
}
