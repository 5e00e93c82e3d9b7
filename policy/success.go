package policy

import (
	"fmt"
	"slices"
	"strings"

	"fairway"
)

// What success means, per setting. The first value of each list is the
// default: the strict one.
var (
	// ExitCodes: a command must have exited 0, or any exit code counts.
	ExitCodes = []string{"zero", "any"}
	// TestOutcomes: passed needs at least one test and none failed or
	// errored; no-failures allows zero tests; any does not judge tests.
	TestOutcomes = []string{"passed", "no-failures", "any"}
	// SARIFThresholds is the lowest SARIF level whose findings fail the
	// evidence; off does not judge findings.
	SARIFThresholds = []string{"note", "warning", "error", "off"}
	// Formats evidence of a kind may be required to be in, so that the
	// gate can judge it; empty accepts any form.
	Formats = []string{"command", "junit", "sarif"}
)

// EvidenceKind says what evidence of one kind must show to satisfy a
// requirement.
type EvidenceKind struct {
	Description string  `yaml:"description"`
	Success     Success `yaml:"success"`
}

// Success is what evidence must show to count. Unset fields take the
// strict defaults.
type Success struct {
	ExitCode       string `yaml:"exit_code"`
	Tests          string `yaml:"tests"`
	SARIFThreshold string `yaml:"sarif_threshold"`
	Format         string `yaml:"format"`
}

// SuccessOf returns what success means for an evidence kind under p (or
// under the defaults when p is nil), every field set but Format. A kind
// whose success the policy states in terms of tests or findings must be
// in the form that shows them: `tests: passed` needs a JUnit report, a
// SARIF threshold a SARIF report, so a text file saying "all tests
// passed" is not taken for one. Command results are always commands.
func (p *Policy) SuccessOf(kind string) Success {
	var s Success
	if p != nil && p.EvidenceKinds[kind] != nil {
		s = p.EvidenceKinds[kind].Success
	}
	if s.Format == "" {
		switch {
		case kind == fairway.EvidenceCommandResult:
			s.Format = "command"
		case s.Tests == "passed" || s.Tests == "no-failures":
			s.Format = "junit"
		case s.SARIFThreshold != "" && s.SARIFThreshold != "off":
			s.Format = "sarif"
		}
	}
	if s.ExitCode == "" {
		s.ExitCode = ExitCodes[0]
	}
	if s.Tests == "" {
		s.Tests = TestOutcomes[0]
	}
	if s.SARIFThreshold == "" {
		s.SARIFThreshold = SARIFThresholds[0]
	}
	return s
}

// checkEvidenceKinds checks the evidence_kinds section.
func (c *checker) checkEvidenceKinds() {
	for _, kind := range sortedKeys(c.p.EvidenceKinds) {
		k := c.p.EvidenceKinds[kind]
		path := "evidence_kinds." + kind
		if !kindRE().MatchString(kind) {
			c.errorf(path+"#key", "%q is not an evidence kind", kind)
		}
		if kind == fairway.EvidenceContext {
			c.errorf(path+"#key", "context evidence can never satisfy a requirement, so it has no success to define")
		}
		if k == nil {
			c.errorf(path, "evidence kind %q has no settings", kind)
			continue
		}
		for _, f := range []struct {
			name, value string
			allowed     []string
		}{
			{"exit_code", k.Success.ExitCode, ExitCodes},
			{"tests", k.Success.Tests, TestOutcomes},
			{"sarif_threshold", k.Success.SARIFThreshold, SARIFThresholds},
			{"format", k.Success.Format, Formats},
		} {
			if f.value != "" && !slices.Contains(f.allowed, f.value) {
				c.errorf(fmt.Sprintf("%s.success.%s", path, f.name), "%q is not one of %s", f.value, strings.Join(f.allowed, ", "))
			}
		}
	}
}
