package check_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"fairway/check"
)

const suite = `name: kind-smoke
coverage: [auth/session, catalog/read-models, terminal-connect]
checks:
  - name: auth
    command: [sh, -c, "exit 0"]
    covers: [auth/session]
    timeout: 30s
  - name: catalog
    command: [sh, -c, "exit 0"]
    covers: [catalog/read-models, auth/session]
`

func TestLoad_ChecksNamePlaces(t *testing.T) {
	s, err := check.Load("smoke.yaml", []byte(suite))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "kind-smoke" || len(s.Checks) != 2 || s.Checks[0].TimeoutOf() != 30*time.Second || s.Checks[1].TimeoutOf() != check.DefaultTimeout || !strings.HasPrefix(s.Digest, "sha256:") {
		t.Fatalf("suite = %+v", s)
	}
	cases := []struct{ from, to, want string }{
		{"covers: [auth/session]\n", "covers: [billing]\n", `smoke.yaml:6:14: checks[0].covers[0]: "billing" is not listed under coverage`},
		{"timeout: 30s", "timeout: soon", `smoke.yaml:7:14: checks[0].timeout: "soon" is not a positive duration`},
		{"  - name: catalog", "  - name: auth", `smoke.yaml:8:11: checks[1].name: check "auth" is named twice`},
		{`    command: [sh, -c, "exit 0"]
    covers: [auth/session]
`, "    covers: [auth/session]\n", "smoke.yaml:4:5: checks[0].command: is required"},
		{"name: kind-smoke", "name: Kind Smoke", `smoke.yaml:1:7: name: "Kind Smoke" is not a suite name`},
		{"    timeout: 30s\n", "    timeout: 30s\n    retries: 3\n", "field retries not found"},
	}
	for _, c := range cases {
		_, err := check.Load("smoke.yaml", []byte(strings.Replace(suite, c.from, c.to, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q → %q: %v, want %q", c.from, c.to, err, c.want)
		}
	}
}

func TestDerive_ProvenFailingNotCovered(t *testing.T) {
	s, err := check.Load("smoke.yaml", []byte(suite))
	if err != nil {
		t.Fatal(err)
	}
	got := check.Derive(s, []check.Result{
		{Check: "auth", Covers: []string{"auth/session"}, Evidence: "EV-1", Passed: true},
		{Check: "catalog", Covers: []string{"catalog/read-models", "auth/session"}, Evidence: "EV-2", ExitCode: 1},
	})
	want := []check.Item{
		{Item: "auth/session", State: check.Failing, Proven: []string{"EV-1"}, Failing: []string{"EV-2"}, Suite: "kind-smoke"},
		{Item: "catalog/read-models", State: check.Failing, Failing: []string{"EV-2"}, Suite: "kind-smoke"},
		{Item: "terminal-connect", State: check.NotCovered, Suite: "kind-smoke"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Derive = %+v\nwant %+v", got, want)
	}
	// A newer run decides; a newer suite silent on an item keeps the old.
	newer := []check.Item{{Item: "catalog/read-models", State: check.Proven, Proven: []string{"EV-3"}}, {Item: "auth/session", State: check.NotCovered}}
	merged := check.Merge([]check.Matrix{{Items: got}, {Items: newer}})
	states := map[string]string{}
	for _, it := range merged {
		states[it.Item] = it.State
	}
	if !reflect.DeepEqual(states, map[string]string{"auth/session": check.Failing, "catalog/read-models": check.Proven, "terminal-connect": check.NotCovered}) || len(merged) != 3 {
		t.Fatalf("Merge = %+v", merged)
	}
}
