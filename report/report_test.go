package report_test

import (
	"reflect"
	"strings"
	"testing"

	"fairway"
	"fairway/report"
)

func TestSummarize(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want *fairway.Summary
	}{
		{"junit nested suites", `<?xml version="1.0"?><!-- ci --><testsuites><testsuite name="a"><testcase name="x"/>` +
			`<testsuite name="b"><testcase name="y"><failure/></testcase></testsuite></testsuite></testsuites>`,
			&fairway.Summary{Format: "junit", Tests: 2, Passed: 1, Failed: 1}},
		{"junit single suite", `<testsuite><testcase/><testcase><skipped/></testcase><testcase><error/><failure/></testcase></testsuite>`,
			&fairway.Summary{Format: "junit", Tests: 3, Passed: 1, Errors: 1, Skipped: 1}},
		{"other xml", `<html><body>report</body></html>`, nil},
		{"sarif", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"gosec"}},"results":[{"level":"note"},{"level":"error"}]},{"tool":{"driver":{"name":"trivy"}},"results":[]}]}`,
			&fairway.Summary{Format: "sarif", Findings: map[string]int{"note": 1, "error": 1}, Tools: []string{"gosec", "trivy"}}},
		{"json that is not sarif", `{"runs": 3}`, nil},
		{"sarif of a scan that failed", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"gosec"}},"invocations":[{"executionSuccessful":false,` +
			`"toolExecutionNotifications":[{"level":"error","message":{"text":"panic"}}]}],"results":[]}]}`,
			&fairway.Summary{Format: "sarif", Findings: map[string]int{}, Tools: []string{"gosec"}, Errors: 2}},
		{"sarif results by kind", `{"version":"2.1.0","runs":[{"results":[{"kind":"fail","level":"none"},{"kind":"pass","level":"error"},` +
			`{"kind":"notApplicable"},{"kind":"review"},{}]}]}`,
			&fairway.Summary{Format: "sarif", Findings: map[string]int{"error": 1, "warning": 2}}},
		{"sarif levels from the rules' defaults", `{"version":"2.1.0","runs":[{"results":[{"ruleId":"G101"},{"ruleIndex":1},{"ruleId":"G999"}],` +
			`"tool":{"driver":{"name":"gosec","rules":[{"id":"G101","defaultConfiguration":{"level":"error"}},{"id":"G102","defaultConfiguration":{"level":"note"}}]}}}]}`,
			&fairway.Summary{Format: "sarif", Findings: map[string]int{"error": 1, "note": 1, "warning": 1}, Tools: []string{"gosec"}}},
		{"sarif naming runs twice", `{"version":"2.1.0","runs":[{"results":[{"level":"error"}]}],"runs":[{"results":[]}]}`,
			&fairway.Summary{Format: "sarif", Findings: map[string]int{"error": 1}, Errors: 1}},
		{"sarif naming a result's level twice", `{"version":"2.1.0","runs":[{"results":[{"level":"error","level":"none"}]}]}`,
			&fairway.Summary{Format: "sarif", Findings: map[string]int{}, Errors: 1}},
		{"sarif nested beyond reason", `{"version":"2.1.0","runs":[{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`,
			&fairway.Summary{Format: "sarif", Findings: map[string]int{}, Errors: 1}},
		{"two json values", `{"version":"2.1.0","runs":[]} {"version":"2.1.0","runs":[]}`,
			&fairway.Summary{Format: "sarif", Findings: map[string]int{}, Errors: 1}},
		{"json lines of ci runs", `{"runs":[{"id":1}]}` + "\n" + `{"runs":[{"id":2}]}`, nil},
		{"sarif cut short before its version", `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[{"results":[{"level":"error"}`,
			&fairway.Summary{Format: "sarif", Findings: map[string]int{}, Errors: 1}},
		{"json that is not sarif, nested deep", `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, nil},
		{"junit behind a doctype", "<!DOCTYPE testsuite>\n<testsuite><testcase><failure/></testcase></testsuite>",
			&fairway.Summary{Format: "junit", Tests: 1, Failed: 1}},
		{"junit cut short", `<testsuite><testcase/><testcase><failure/></testcase>`,
			&fairway.Summary{Format: "junit", Tests: 2, Passed: 1, Failed: 1, Errors: 1}},
		{"junit whose first tag is broken", `<testsuite name="a" <x><testcase/></testsuite>`,
			&fairway.Summary{Format: "junit", Errors: 1}},
		{"junit behind blank lines", strings.Repeat("\r\n", 5000) + "\xef\xbb\xbf<testsuite><testcase/></testsuite>",
			&fairway.Summary{Format: "junit", Tests: 1, Passed: 1}},
		{"other xml cut short", `<html><body>report`, nil},
		{"plain text", "PASS\nok fairway 0.1s\n", nil},
	}
	for _, c := range cases {
		got, err := report.Summarize(strings.NewReader(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
	if s := report.String(&fairway.Summary{Format: "junit", Tests: 3, Passed: 2, Failed: 1}); s != "3 tests: 2 passed, 1 failed, 0 errors, 0 skipped" {
		t.Errorf("String = %q", s)
	}
}
