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

	"fairway"
	"fairway/check"
	"fairway/demo"
)

// consoleUnderTest answers the demo UAT suite's probes as the GPUaaS
// console would, with what varies between calls (times, ids, how long
// it took) in every answer.
func consoleUnderTest(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n, sessions atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := n.Add(1)
		varying := fmt.Sprintf(`"at":"%s","request":"%08x-aaaa-4bbb-8ccc-%012x","took":"%dms"`, time.Now().UTC().Format(time.RFC3339Nano), id, id, id%11)
		switch r.Method + " " + r.URL.Path {
		case "GET /v1/session":
			fmt.Fprintf(w, `{"user":"uat-bot",%s}`, varying)
		case "GET /v1/account/security":
			fmt.Fprintf(w, `{"mfa":"totp",%s}`, varying)
		case "GET /v1/catalog/skus":
			fmt.Fprintf(w, `{"skus":["compute-vm-small","gpu-a100"],%s}`, varying)
		case "GET /v1/billing/invoices", "GET /v1/admin/allocations":
			fmt.Fprintf(w, `{"items":[],%s}`, varying)
		case "POST /v1/terminal/sessions":
			sessions.Add(1)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"state":"connected",%s}`, varying)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &sessions
}

// TestCloseout_BlockedFallbackWaiverUATMatrixGate walks the seed's
// closeout on the demo data: the full kind UAT is blocked by the compute
// capacity prerequisite (its mutating check refused, naming it); while
// the kind-uat lane waits, next offers safe work and never a protected
// mutation; ops approves the waiver the demo requested; the mutating UAT
// then runs; the matrix shows it proven; and the gate passes, so a human
// closes the task.
func TestCloseout_BlockedFallbackWaiverUATMatrixGate(t *testing.T) {
	dir := demoDir(t)
	srv, sessions := consoleUnderTest(t)
	suite := filepath.Join(t.TempDir(), "kind-uat.yaml")
	src := strings.ReplaceAll(string(demo.UATSuite), "${FAIRWAY_UAT_BASE_URL}", srv.URL)
	os.WriteFile(suite, []byte(strings.ReplaceAll(src, "${FAIRWAY_UAT_TOKEN}", "uat")), 0o644)
	const uat = "OPS-UAT-KIND-FULL-001"
	step := func(as string, want int, args ...string) string {
		t.Helper()
		out, errOut, code := runAs(dir, as, args...)
		if code != want {
			t.Fatalf("%s %s: exit %d, want %d\n%s%s", as, strings.Join(args, " "), code, want, out, errOut)
		}
		return out
	}
	gate := func() *fairway.GateDecision {
		var d fairway.GateDecision
		if err := json.Unmarshal([]byte(step("codex-1", 0, "gate", "explain", uat, "--json")), &d); err != nil {
			t.Fatal(err)
		}
		return &d
	}
	state := func(d *fairway.GateDecision, id string) string {
		for _, r := range d.Requirements {
			if r.ID == id {
				return r.State
			}
		}
		return "absent"
	}

	// 1. Blocked: the gate waits on the capacity prerequisite and the
	// capacity task; the mutating UAT check is refused, naming it.
	if d := gate(); d.Pass || state(d, "prerequisite:kind-compute-capacity") != fairway.ReqUnsatisfied || state(d, "dependency:OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001") != fairway.ReqUnsatisfied {
		t.Fatalf("gate before: %+v", d.Requirements)
	}
	var blocked checkRunOut
	json.Unmarshal([]byte(step("codex-1", exitFailure, "check", "run", suite, "--task", uat, "--env", "kind-local", "--json")), &blocked)
	if r := blocked.Results[5]; r.Check != "terminal" || r.Refused != "prerequisite kind-compute-capacity" || sessions.Load() != 0 {
		t.Fatalf("blocked run: %+v (terminal sessions opened: %d)", blocked.Results, sessions.Load())
	}
	for _, r := range blocked.Results[:5] {
		if !r.Passed {
			t.Fatalf("read-only check %s did not pass while blocked: %+v", r.Check, r)
		}
	}

	// 2. Fallback: the kind-uat lane waits; next offers safe work with why,
	// and no task of a protected class to be worked on.
	var plan fairway.Plan
	if err := json.Unmarshal([]byte(step("codex-1", 0, "next", "--lane", "kind-uat", "--json")), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Waiting) != 1 || plan.Waiting[0].Lane != "kind-uat" || len(plan.Safe) == 0 {
		t.Fatalf("plan = %+v", plan)
	}
	for _, s := range plan.Safe {
		if s.Why == "" || (len(s.Task.Scope.ChangeClasses) > 0 || s.Task.Mutating) && s.Kind != fairway.SafeReview {
			t.Fatalf("unsafe work offered: %s %s (%s)", s.Kind, s.Task.Key, s.Why)
		}
	}

	// 3. The waivers: ops approves the prerequisite waiver the demo
	// requested, and the capacity dependency's.
	var req fairway.Waiver
	json.Unmarshal([]byte(step("codex-1", 0, "waiver", "request", "--task", uat, "--requirement", "dependency:OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001",
		"--reason", "UAT runs on the approved alternate small profile", "--expires", "72h", "--json")), &req)
	var pending []*fairway.Waiver
	json.Unmarshal([]byte(step("codex-1", 0, "waiver", "list", "--json")), &pending)
	approved := 0
	for _, w := range pending {
		if w.Task == uat && w.ApprovedBy == "" {
			step("omar", 0, "waiver", "approve", fmt.Sprint(w.ID))
			approved++
		}
	}
	if approved != 2 || req.ID == 0 {
		t.Fatalf("approved %d waivers (%+v)", approved, pending)
	}

	// 4. The mutating UAT is allowed now, and runs.
	var full checkRunOut
	json.Unmarshal([]byte(step("codex-1", 0, "check", "run", suite, "--task", uat, "--env", "kind-local", "--json")), &full)
	if r := full.Results[5]; !r.Passed || r.Refused != "" || sessions.Load() != 1 {
		t.Fatalf("full run: %+v", full.Results)
	}
	// The same behaviour gives the same digests as the blocked run did.
	for i := range 5 {
		if full.Results[i].Digest != blocked.Results[i].Digest {
			t.Fatalf("%s: digest %s, was %s", full.Results[i].Check, full.Results[i].Digest, blocked.Results[i].Digest)
		}
	}

	// 5. The matrix shows terminal/connect proven in kind-local by it.
	var m check.UATMatrix
	json.Unmarshal([]byte(step("codex-1", 0, "uat", "matrix", "--json")), &m)
	proven := 0
	for _, row := range m.Areas {
		c := row.Cells["kind-local"]
		if c.State == check.Proven && c.Task == uat {
			proven++
		}
		if row.Area == "terminal/connect" && (c.State != check.Proven || c.Evidence[0] != full.Results[5].Evidence) {
			t.Fatalf("terminal/connect in kind-local = %+v", c)
		}
	}
	if proven != 6 {
		t.Fatalf("%d of 6 areas proven in kind-local: %+v", proven, m)
	}

	// 6. A fresh ops review of what was recorded, and the gate passes; a
	// human closes the task.
	if d := gate(); d.Pass || state(d, "prerequisite:kind-compute-capacity") != fairway.ReqWaived || state(d, "evidence:uat-report") != fairway.ReqSatisfied {
		t.Fatalf("gate after the run, before review: pass=%v %+v", d.Pass, d.Requirements)
	}
	step("omar", 0, "review", "approve", uat, "--domain", "ops", "--comment", "full UAT on the alternate profile: all six areas proven")
	if d := gate(); !d.Pass {
		t.Fatalf("gate after review: %+v", d.Requirements)
	}
	step("olivia", 0, "task", "close", uat)
	if out := step("codex-1", 0, "task", "show", uat, "--json"); !strings.Contains(out, `"status": "done"`) {
		t.Fatalf("task after close: %s", out)
	}
}
