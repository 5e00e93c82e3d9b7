package policy_test

import (
	"testing"

	"fairway/policy"
)

const successBase = `version: 1
owners: [ops]
review_domains:
  ops:
    members: [olivia]
`

func TestLoad_EvidenceKindsSayWhatSuccessMeans(t *testing.T) {
	p, err := policy.Load("governance.yaml", []byte(successBase+`evidence_kinds:
  scan-output:
    description: a scan fails only on errors
    success:
      sarif_threshold: error
      format: sarif
  command-result:
    success:
      exit_code: any
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind string
		want policy.Success
	}{
		{"scan-output", policy.Success{ExitCode: "zero", Tests: "passed", SARIFThreshold: "error", Format: "sarif"}},
		{"command-result", policy.Success{ExitCode: "any", Tests: "passed", SARIFThreshold: "note", Format: "command"}}, // a command result is a command
		{"uat-report", policy.Success{ExitCode: "zero", Tests: "passed", SARIFThreshold: "note"}},
	}
	for _, tc := range tests {
		if got := p.SuccessOf(tc.kind); got != tc.want {
			t.Errorf("%s: success = %+v, want %+v", tc.kind, got, tc.want)
		}
	}
	var none *policy.Policy
	if got, want := none.SuccessOf("uat-report"), (policy.Success{ExitCode: "zero", Tests: "passed", SARIFThreshold: "note"}); got != want {
		t.Errorf("without a policy: %+v, want the strict defaults %+v", got, want)
	}
}

func TestLoad_EvidenceKindErrorsNameTheirPlace(t *testing.T) {
	tests := []struct {
		name, section, want string
	}{
		{"bad exit code", "evidence_kinds:\n  command-result:\n    success:\n      exit_code: nonzero\n",
			`governance.yaml:9:18: evidence_kinds.command-result.success.exit_code: "nonzero" is not one of zero, any`},
		{"bad tests", "evidence_kinds:\n  uat-report:\n    success:\n      tests: some\n",
			`governance.yaml:9:14: evidence_kinds.uat-report.success.tests: "some" is not one of passed, no-failures, any`},
		{"bad threshold", "evidence_kinds:\n  scan-output:\n    success:\n      sarif_threshold: critical\n",
			`governance.yaml:9:24: evidence_kinds.scan-output.success.sarif_threshold: "critical" is not one of note, warning, error, off`},
		{"bad format", "evidence_kinds:\n  uat-report:\n    success:\n      format: pdf\n",
			`governance.yaml:9:15: evidence_kinds.uat-report.success.format: "pdf" is not one of command, junit, sarif`},
		{"bad kind", "evidence_kinds:\n  Scan_Output:\n    success:\n      format: sarif\n",
			`governance.yaml:7:3: evidence_kinds.Scan_Output#key: "Scan_Output" is not an evidence kind`},
		{"context", "evidence_kinds:\n  context:\n    success:\n      exit_code: any\n",
			`governance.yaml:7:3: evidence_kinds.context#key: context evidence can never satisfy a requirement, so it has no success to define`},
		{"no settings", "evidence_kinds:\n  log:\n",
			`governance.yaml:7:7: evidence_kinds.log: evidence kind "log" has no settings`},
		{"unknown field", "evidence_kinds:\n  log:\n    success:\n      exitcode: any\n",
			`governance.yaml:9:1: field exitcode not found in type policy.Success`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Load("governance.yaml", []byte(successBase+tc.section))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}
