package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/check"
	"fairway/demo"
)

const smokeSuite = `name: kind-smoke
coverage: [auth/session, billing-reads, terminal-connect]
checks:
  - name: auth
    command: [sh, -c, "echo 200"]
    covers: [auth/session]
  - name: billing
    command: [sh, -c, "echo 500; exit 3"]
    covers: [billing-reads]
`

// TestCheck_RunRecordsEvidenceCoverageAndStage: each check is recorded
// as command-result evidence, the coverage matrix says which item is
// proven by which evidence, failing or not covered, and the deploy-run's
// stage moves with the suite's outcome.
func TestCheck_RunRecordsEvidenceCoverageAndStage(t *testing.T) {
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		files := t.TempDir()
		os.WriteFile(filepath.Join(files, "governance.yaml"), demo.Policy, 0o644)
		suite := filepath.Join(files, "smoke.yaml")
		os.WriteFile(suite, []byte(smokeSuite), 0o644)
		step := func(as string, want int, args ...string) string {
			t.Helper()
			out, errOut, code := e.run(as, args...)
			if code != want {
				t.Fatalf("local=%v %s: exit %d (%s), want %d", local, strings.Join(args, " "), code, errOut, want)
			}
			return out
		}
		step("alice", 0, "policy", "apply", filepath.Join(files, "governance.yaml"))
		step("alice", 0, "task", "create", "OPS-UAT-001", "--title", "kind smoke")
		step("codex", 0, "deploy", "start", "--task", "OPS-UAT-001", "--env", "kind-local", "--commit", "0123abcd")
		step("codex", 0, "run", "--task", "OPS-UAT-001", "--", "true")
		list := step("codex", 0, "evidence", "list", "--task", "OPS-UAT-001", "--json")
		var evs []fairway.Evidence
		json.Unmarshal([]byte(list), &evs)
		if len(evs) != 1 {
			t.Fatalf("evidence: %s", list)
		}
		step("codex", 0, "deploy", "stage", "1", "ci", "--status", "passed", "--evidence", evs[0].ID)
		step("codex", 0, "deploy", "stage", "1", "deploy", "--status", "passed", "--evidence", evs[0].ID)
		step("codex", exitUsage, "check", "run", suite, "--task", "OPS-UAT-001", "--deploy", "1")
		var res struct {
			check.Matrix
			Coverage string             `json:"coverage_evidence"`
			Run      *fairway.DeployRun `json:"deploy_run"`
		}
		if err := json.Unmarshal([]byte(step("codex", exitFailure, "check", "run", suite, "--task", "OPS-UAT-001", "--deploy", "1", "--stage", "smoke", "--json")), &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Results) != 2 || !res.Results[0].Passed || res.Results[1].Passed || res.Results[1].ExitCode != 3 {
			t.Fatalf("results = %+v", res.Results)
		}
		if s := res.Run.Stage(fairway.StageSmoke); s.Status != fairway.StageFailed || len(s.Evidence) != 4 || s.Evidence[2] != res.Report || s.Evidence[3] != res.Coverage {
			t.Fatalf("smoke stage = %+v", s)
		}
		var items []check.Item
		if err := json.Unmarshal([]byte(step("codex", 0, "check", "coverage", "--task", "OPS-UAT-001", "--json")), &items); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"auth/session": check.Proven, "billing-reads": check.Failing, "terminal-connect": check.NotCovered}
		if len(items) != 3 {
			t.Fatalf("items = %+v", items)
		}
		for _, it := range items {
			if want[it.Item] != it.State {
				t.Errorf("local=%v %s is %s, want %s", local, it.Item, it.State, want[it.Item])
			}
		}
		if items[0].Proven[0] != res.Results[0].Evidence || items[1].Failing[0] != res.Results[1].Evidence {
			t.Errorf("coverage cites %+v, want the checks' evidence %+v", items, res.Results)
		}
		human := step("codex", 0, "check", "coverage", "--task", "OPS-UAT-001")
		if !strings.Contains(human, "billing-reads                failing      kind-smoke       failing: EV-") {
			t.Errorf("human coverage:\n%s", human)
		}
		// A bad suite is refused with its place, and nothing runs.
		os.WriteFile(suite, []byte(strings.Replace(smokeSuite, "covers: [auth/session]", "covers: [auth]", 1)), 0o644)
		_, errOut, code := e.run("codex", "check", "run", suite, "--task", "OPS-UAT-001")
		if code != exitUsage || !strings.Contains(errOut, `smoke.yaml:6:14: checks[0].covers[0]: "auth" is not listed under coverage`) {
			t.Errorf("bad suite: exit %d %s", code, errOut)
		}
	}
}

// TestCheck_TimeoutEndsACheckAsFailing: a check that outlives its timeout
// is stopped, recorded, and fails its coverage item.
func TestCheck_TimeoutEndsACheckAsFailing(t *testing.T) {
	e := newCLIEnv(t, true)
	suite := filepath.Join(t.TempDir(), "slow.yaml")
	os.WriteFile(suite, []byte("name: slow\ncoverage: [terminal-connect]\nchecks:\n  - name: hang\n    command: [sleep, \"600\"]\n    covers: [terminal-connect]\n    timeout: 200ms\n"), 0o644)
	if _, errOut, code := e.run("alice", "task", "create", "OPS-UAT-001", "--title", "slow"); code != 0 {
		t.Fatal(errOut)
	}
	out, errOut, code := e.run("codex", "check", "run", suite, "--task", "OPS-UAT-001", "--json")
	var res check.Matrix
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitFailure {
		t.Fatalf("exit %d %v: %s %s", code, err, out, errOut)
	}
	if len(res.Results) != 1 || res.Results[0].Passed || res.Items[0].State != check.Failing {
		t.Fatalf("timed-out check = %+v", res)
	}
	ev, errOut, code := e.run("codex", "evidence", "show", res.Results[0].Evidence, "--json")
	if code != 0 || !strings.Contains(ev, `"interrupted": true`) {
		t.Fatalf("evidence of the timed-out check: %s %s", ev, errOut)
	}
}
