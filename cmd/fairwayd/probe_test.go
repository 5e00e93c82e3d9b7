package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fairway/check"
	"fairway/demo"
)

// uatService answers like a real service: every answer carries the time,
// a fresh request id and how long it took beside the behaviour.
func uatService(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n, writes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := n.Add(1)
		stamp := fmt.Sprintf(`"at":"%s","request":"%08x-1111-4222-8333-%012x","took":"%dms"`, time.Now().UTC().Format(time.RFC3339Nano), id, id, id%9)
		switch {
		case r.URL.Path == "/v1/session" && r.Header.Get("Authorization") == "Bearer uat":
			fmt.Fprintf(w, `{"user":"uat-bot",%s}`, stamp)
		case r.URL.Path == "/v1/catalog":
			fmt.Fprintf(w, `{"skus":["a100","h100"],%s}`, stamp)
		case r.URL.Path == "/v1/allocations" && r.Method == http.MethodPost:
			writes.Add(1)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"allocation":"created",%s}`, stamp)
		default:
			http.Error(w, "no", http.StatusUnauthorized)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &writes
}

const uatSuite = `name: kind-uat
coverage: [auth/session, catalog/read-models, terminal-connect]
masks:
  - builtin: timestamps
  - builtin: uuids
  - builtin: durations
checks:
  - name: session
    http: {url: "BASE/v1/session", headers: {Authorization: "Bearer uat"}, body: '"user":"uat-bot"'}
    covers: [auth/session]
  - name: catalog
    http: {url: "BASE/v1/catalog", body: 'h100'}
    covers: [catalog/read-models]
  - name: allocate
    http: {method: POST, url: "BASE/v1/allocations", status: 201}
    covers: [terminal-connect]
    mutating: true
`

type checkRunOut struct {
	check.Matrix
	Coverage string `json:"coverage_evidence"`
}

// TestCheck_ProbesRefuseMutationUntilTheBlockerIsWaived: HTTP probes are
// recorded with digests of their normalised output that two runs give
// byte for byte; a mutating check is refused in an environment whose
// prerequisite is unmet, naming the blocker, and never reaches the
// service; once a waiver is approved it runs.
func TestCheck_ProbesRefuseMutationUntilTheBlockerIsWaived(t *testing.T) {
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		srv, writes := uatService(t)
		files := t.TempDir()
		os.WriteFile(filepath.Join(files, "governance.yaml"), demo.Policy, 0o644)
		suite := filepath.Join(files, "uat.yaml")
		os.WriteFile(suite, []byte(strings.ReplaceAll(uatSuite, "BASE", srv.URL)), 0o644)
		step := func(as string, want int, args ...string) string {
			t.Helper()
			out, errOut, code := e.run(as, args...)
			if code != want {
				t.Fatalf("local=%v %s: exit %d (%s %s), want %d", local, strings.Join(args, " "), code, out, errOut, want)
			}
			return out
		}
		step("alice", 0, "policy", "apply", filepath.Join(files, "governance.yaml"))
		step("alice", 0, "task", "create", "OPS-UAT-KIND-FULL-001", "--title", "full kind UAT", "--label", "kind-uat", "--mutating")
		// A suite with mutating checks names its environment.
		if _, errOut, code := e.run("codex", "check", "run", suite, "--task", "OPS-UAT-KIND-FULL-001"); code != exitUsage || !strings.Contains(errOut, "env: is required: the suite has mutating checks") {
			t.Fatalf("no --env: exit %d %s", code, errOut)
		}
		if _, errOut, code := e.run("codex", "check", "run", suite, "--env", "kind-local"); code != exitUsage || !strings.Contains(errOut, "task: is required: name the task the evidence is for with --task KEY, or the deploy-run with --deploy RUN") {
			t.Fatalf("no task: exit %d %s", code, errOut)
		}
		junit := filepath.Join(files, "uat.xml")
		var runs [2]checkRunOut
		for i := range runs {
			out := step("codex", exitFailure, "check", "run", suite, "--task", "OPS-UAT-KIND-FULL-001", "--env", "kind-local", "--junit", junit, "--json")
			if err := json.Unmarshal([]byte(out), &runs[i]); err != nil {
				t.Fatal(err)
			}
		}
		r := runs[0].Results
		if len(r) != 3 || !r[0].Passed || !r[1].Passed || r[2].Passed || r[2].Refused != "prerequisite kind-compute-capacity" || r[2].Evidence != "" ||
			!strings.Contains(r[2].Failure, "mutating check refused in kind-local: prerequisite kind-compute-capacity unmet: Full kind UAT and dev deploy stay gated") {
			t.Fatalf("local=%v results = %+v", local, r)
		}
		if writes.Load() != 0 {
			t.Fatalf("a refused mutating check reached the service %d times", writes.Load())
		}
		for i := range r {
			if r[i].Digest != runs[1].Results[i].Digest || r[i].Evidence == runs[1].Results[i].Evidence && r[i].Evidence != "" {
				t.Fatalf("run 1 and 2 of %s: digests %s / %s, evidence %s / %s", r[i].Check, r[i].Digest, runs[1].Results[i].Digest, r[i].Evidence, runs[1].Results[i].Evidence)
			}
		}
		if it := runs[0].Items[2]; it.State != check.Blocked || it.Blockers[0] != "prerequisite kind-compute-capacity" {
			t.Fatalf("terminal-connect = %+v", it)
		}
		report, _ := os.ReadFile(junit)
		if !strings.Contains(string(report), `<failure message="refused: prerequisite kind-compute-capacity" type="refused"></failure>`) || !strings.Contains(string(report), `tests="3" failures="1" errors="0" skipped="0"`) {
			t.Fatalf("JUnit report:\n%s", report)
		}
		ev := step("codex", 0, "evidence", "show", r[0].Evidence, "--json")
		if !strings.Contains(ev, `"kind": "smoke"`) || !strings.Contains(ev, `"format": "junit"`) || strings.Contains(ev, "Bearer uat") {
			t.Fatalf("probe evidence: %s", ev)
		}
		// The matrix, across tasks: the area the blocker stops shows it.
		var m check.UATMatrix
		if err := json.Unmarshal([]byte(step("codex", 0, "uat", "matrix", "--json")), &m); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(m.Environments) != "[kind-local dev production]" || len(m.Areas) != 3 {
			t.Fatalf("matrix = %+v", m)
		}
		if c := m.Areas[2].Cells["kind-local"]; m.Areas[2].Area != "terminal-connect" || c.State != check.Blocked || fmt.Sprint(c.Blockers) != "[prerequisite kind-compute-capacity]" {
			t.Fatalf("terminal-connect in kind-local = %+v", c)
		}
		if c := m.Areas[0].Cells["kind-local"]; c.State != check.Proven || c.Evidence[0] != runs[1].Results[0].Evidence || c.Task != "OPS-UAT-KIND-FULL-001" {
			t.Fatalf("auth/session in kind-local = %+v", c)
		}
		if c := m.Areas[0].Cells["production"]; c.State != check.NotCovered || c.Blockers != nil {
			t.Fatalf("auth/session in production = %+v", c)
		}
		// An approved waiver of the prerequisite lets the mutating check run.
		step("codex", 0, "waiver", "request", "--task", "OPS-UAT-KIND-FULL-001", "--requirement", "prerequisite:kind-compute-capacity", "--reason", "alternate profile agreed for UAT", "--expires", "24h")
		step("omar", 0, "waiver", "approve", "1")
		var after checkRunOut
		if err := json.Unmarshal([]byte(step("codex", 0, "check", "run", suite, "--task", "OPS-UAT-KIND-FULL-001", "--env", "kind-local", "--json")), &after); err != nil {
			t.Fatal(err)
		}
		if !after.Results[2].Passed || after.Results[2].Status != 201 || writes.Load() != 1 || after.Items[2].State != check.Proven {
			t.Fatalf("after the waiver: %+v (writes %d)", after.Results, writes.Load())
		}
		human := step("codex", 0, "uat", "matrix", "--env", "kind-local")
		if !strings.Contains(human, "terminal-connect\n  kind-local     proven       "+after.Results[2].Evidence+" (OPS-UAT-KIND-FULL-001, suite kind-uat)\n") {
			t.Fatalf("human matrix:\n%s", human)
		}
	}
}
