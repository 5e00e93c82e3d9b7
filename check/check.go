// Package check loads smoke and UAT check suites and derives their
// coverage matrix: which coverage item is proven by which passing
// evidence, which is failing, and which no check covers.
package check

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Suite is a loaded, checked suite file.
type Suite struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Coverage lists the items the suite is meant to prove; an item no
	// check covers shows as not covered.
	Coverage []string `yaml:"coverage"`
	// Masks normalise each check's output before its digest is taken,
	// so that the same behaviour gives the same digest.
	Masks  []Mask   `yaml:"masks"`
	Checks []*Check `yaml:"checks"`

	masks []mask

	File   string `yaml:"-"`
	Digest string `yaml:"-"`
}

// Check is one named command or HTTP probe and the coverage items
// (areas) it proves when it passes.
type Check struct {
	Name    string   `yaml:"name"`
	Command []string `yaml:"command"`
	HTTP    *Probe   `yaml:"http"`
	Covers  []string `yaml:"covers"`
	// Mutating checks change the environment; they run only where the
	// environment's prerequisites are met.
	Mutating bool `yaml:"mutating"`
	// Timeout bounds the command; DefaultTimeout when empty.
	Timeout string `yaml:"timeout"`

	timeout time.Duration
}

// DefaultTimeout bounds a check that names no timeout.
const DefaultTimeout = 5 * time.Minute

// TimeoutOf returns the check's timeout.
func (c *Check) TimeoutOf() time.Duration {
	if c.timeout == 0 {
		return DefaultTimeout
	}
	return c.timeout
}

// nameRE is compiled on first use, not at every start of the program.
var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]{0,99}$`) })

// Load parses and checks a suite file; every problem is reported as
// file:line:column: reason, and a suite with any problem is refused.
func Load(file string, data []byte) (*Suite, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s:1:1: %v", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s:1:1: the suite is empty", file)
	}
	var s Suite
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %v", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	sum := sha256.Sum256(data)
	s.File, s.Digest = file, "sha256:"+hex.EncodeToString(sum[:])
	var errs []string
	at := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s:%d:%d: %s", file, n.Line, n.Column, fmt.Sprintf(format, args...)))
	}
	top := root.Content[0]
	field := func(n *yaml.Node, key string) *yaml.Node {
		for i := 0; n != nil && n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
		return n
	}
	if !nameRE().MatchString(s.Name) {
		at(field(top, "name"), "name: %q is not a suite name: lower-case letters, digits and . _ / -", s.Name)
	}
	declared := map[string]bool{}
	for i, item := range s.Coverage {
		n := field(top, "coverage")
		if n.Kind == yaml.SequenceNode && i < len(n.Content) {
			n = n.Content[i]
		}
		if !nameRE().MatchString(item) {
			at(n, "coverage[%d]: %q is not a coverage item name", i, item)
		}
		if declared[item] {
			at(n, "coverage[%d]: %q is listed twice", i, item)
		}
		declared[item] = true
	}
	for i := range s.Masks {
		n := field(top, "masks")
		if n.Kind == yaml.SequenceNode && i < len(n.Content) {
			n = n.Content[i]
		}
		m, err := s.Masks[i].compile()
		if err != nil {
			at(n, "masks[%d]: %v", i, err)
			continue
		}
		s.masks = append(s.masks, m)
	}
	if len(s.Checks) == 0 {
		at(top, "checks: a suite needs at least one check")
	}
	seen := map[string]bool{}
	checks := field(top, "checks")
	for i, c := range s.Checks {
		n := checks
		if n.Kind == yaml.SequenceNode && i < len(n.Content) {
			n = n.Content[i]
		}
		if c == nil {
			at(n, "checks[%d]: empty check", i)
			continue
		}
		if !nameRE().MatchString(c.Name) {
			at(field(n, "name"), "checks[%d].name: %q is not a check name", i, c.Name)
		} else if seen[c.Name] {
			at(field(n, "name"), "checks[%d].name: check %q is named twice", i, c.Name)
		}
		seen[c.Name] = true
		switch {
		case c.HTTP != nil && len(c.Command) > 0:
			at(n, "checks[%d]: give command or http, not both", i)
		case c.HTTP != nil:
			for _, e := range c.HTTP.check() {
				at(field(n, "http"), "checks[%d].http.%s", i, e)
			}
		case len(c.Command) == 0 || c.Command[0] == "":
			at(n, "checks[%d].command: is required, as a list of arguments: [curl, -fsS, URL], or give an http probe", i)
		}
		if len(c.Covers) == 0 {
			at(n, "checks[%d].covers: name the coverage item(s) the check proves", i)
		}
		for j, item := range c.Covers {
			if !declared[item] {
				cn := field(n, "covers")
				if cn.Kind == yaml.SequenceNode && j < len(cn.Content) {
					cn = cn.Content[j]
				}
				at(cn, "checks[%d].covers[%d]: %q is not listed under coverage", i, j, item)
			}
		}
		if c.Timeout != "" {
			d, err := time.ParseDuration(c.Timeout)
			if err != nil || d <= 0 {
				at(field(n, "timeout"), "checks[%d].timeout: %q is not a positive duration like 30s", i, c.Timeout)
			}
			c.timeout = d
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return &s, nil
}

// Coverage states.
const (
	Proven     = "proven"
	Failing    = "failing"
	NotCovered = "not-covered"
	// Blocked: a check would cover the item, but a blocker stopped it.
	Blocked = "blocked"
)

// Result is one check's outcome and the evidence that records it.
type Result struct {
	Check    string   `json:"check"`
	Covers   []string `json:"covers"`
	Evidence string   `json:"evidence"`
	ExitCode int      `json:"exit_code"`
	Passed   bool     `json:"passed"`
	// Status is an HTTP probe's response status.
	Status int `json:"status,omitempty"`
	// Failure says why a check failed.
	Failure string `json:"failure,omitempty"`
	// Digest is the sha256 of the check's normalised output: the same
	// behaviour gives the same digest, run after run.
	Digest string `json:"digest,omitempty"`
	// Refused names the blocker that stopped a mutating check.
	Refused string `json:"refused,omitempty"`
	// Output is the normalised output the digest is of.
	Output []byte `json:"-"`
	// Duration is how long the check took (not part of any digest).
	Duration time.Duration `json:"-"`
}

// Item is one coverage item's state and the evidence behind it.
type Item struct {
	Item  string `json:"item"`
	State string `json:"state"`
	// Proven lists passing evidence; Failing failing evidence. One
	// failure makes the item failing: failing evidence is shown, never
	// counted (R3).
	Proven  []string `json:"proven,omitempty"`
	Failing []string `json:"failing,omitempty"`
	// Blockers name what stopped the item's mutating checks.
	Blockers []string `json:"blockers,omitempty"`
	// Suite names where the item's state came from.
	Suite string `json:"suite,omitempty"`
}

// Matrix is the coverage of one suite run, recorded as coverage
// evidence: its content is this, as JSON.
type Matrix struct {
	Suite       string `json:"suite"`
	SuiteDigest string `json:"suite_digest"`
	Task        string `json:"task"`
	Environment string `json:"environment,omitempty"`
	Deploy      int64  `json:"deploy,omitempty"`
	Stage       string `json:"stage,omitempty"`
	// Report is the evidence holding the run's JUnit report.
	Report  string   `json:"report,omitempty"`
	Results []Result `json:"results"`
	Items   []Item   `json:"items"`
}

// Derive computes the coverage of a suite from its checks' results:
// every declared item (and any item a check covers) proven, failing or
// not covered, in the suite's order.
func Derive(s *Suite, results []Result) []Item {
	order := slices.Clone(s.Coverage)
	byItem := map[string]*Item{}
	for _, item := range order {
		byItem[item] = &Item{Item: item, State: NotCovered, Suite: s.Name}
	}
	for _, r := range results {
		for _, item := range r.Covers {
			it := byItem[item]
			if it == nil {
				it = &Item{Item: item, State: NotCovered, Suite: s.Name}
				byItem[item] = it
				order = append(order, item)
			}
			switch {
			case r.Refused != "":
				if !slices.Contains(it.Blockers, r.Refused) {
					it.Blockers = append(it.Blockers, r.Refused)
				}
			case r.Passed:
				it.Proven = append(it.Proven, r.Evidence)
			default:
				it.Failing = append(it.Failing, r.Evidence)
			}
		}
	}
	out := make([]Item, 0, len(order))
	for _, item := range order {
		it := byItem[item]
		switch {
		case len(it.Failing) > 0:
			it.State = Failing
		case len(it.Proven) > 0:
			it.State = Proven
		case len(it.Blockers) > 0:
			it.State = Blocked
		}
		out = append(out, *it)
	}
	return out
}

// Merge combines the matrices recorded for a task, newest last, into one
// view: per item, the newest matrix that speaks of it decides.
func Merge(matrices []Matrix) []Item {
	var order []string
	byItem := map[string]Item{}
	for _, m := range matrices {
		for _, it := range m.Items {
			prev, seen := byItem[it.Item]
			if !seen {
				order = append(order, it.Item)
			}
			// A newer suite that does not cover the item does not erase
			// what an older one proved.
			// Nor does a blocked newer run: what stopped it is shown only
			// where nothing was proven or failed.
			weak := func(state string) bool { return state == NotCovered || state == Blocked }
			if !seen || !weak(it.State) || weak(prev.State) {
				byItem[it.Item] = it
			}
		}
	}
	out := make([]Item, 0, len(order))
	for _, item := range order {
		out = append(out, byItem[item])
	}
	return out
}
