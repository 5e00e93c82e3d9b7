package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/demo"
)

// TestDeploy_CLIWalksARun: a run from start to a finish with findings,
// in local and server mode, with the exit codes that say why a step was
// refused.
func TestDeploy_CLIWalksARun(t *testing.T) {
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		files := t.TempDir()
		os.WriteFile(filepath.Join(files, "governance.yaml"), demo.Policy, 0o644)
		step := func(as string, want int, args ...string) string {
			t.Helper()
			out, errOut, code := e.run(as, args...)
			if code != want {
				t.Fatalf("local=%v %s: exit %d (%s), want %d", local, strings.Join(args, " "), code, errOut, want)
			}
			return out + errOut
		}
		step("alice", 0, "policy", "apply", filepath.Join(files, "governance.yaml"))
		step("alice", 0, "lane", "create", "closeout", "--prefix", "OPS-FIX")
		step("alice", 0, "task", "create", "OPS-DEPLOY-001", "--title", "ship", "--lane", "closeout")
		var evs []fairway.Evidence
		if err := json.Unmarshal([]byte(step("codex", 0, "evidence", "add", "--task", "OPS-DEPLOY-001", "--kind", "smoke", "--json", filepath.Join(files, "governance.yaml"))), &evs); err != nil || len(evs) != 1 {
			t.Fatalf("evidence: %v", err)
		}
		ev := evs[0]
		var run fairway.DeployRun
		if err := json.Unmarshal([]byte(step("codex", 0, "deploy", "start", "--task", "OPS-DEPLOY-001", "--env", "dev", "--commit", "0123abcd", "--json")), &run); err != nil || run.ID != 1 {
			t.Fatalf("start: %v %+v", err, run)
		}
		step("codex", exitUsage, "deploy", "stage", "1", "ci", "--status", "passed")
		step("codex", 0, "deploy", "stage", "1", "ci", "--status", "passed", "--evidence", ev.ID)
		step("codex", 0, "deploy", "stage", "1", "deploy", "--status", "passed", "--evidence", ev.ID)
		step("codex", 0, "deploy", "stage", "1", "smoke", "--status", "failed")
		step("codex", 0, "deploy", "stage", "1", "uat", "--status", "skipped", "--note", "smoke failed")
		if out := step("codex", exitConflict, "deploy", "stage", "1", "follow-up", "--status", "passed"); !strings.Contains(out, "needs a rollback stage") {
			t.Fatalf("finish without rollback: %s", out)
		}
		step("codex", exitForbidden, "deploy", "no-rollback", "1", "--reason", "fine")
		step("olivia", 0, "deploy", "no-rollback", "1", "--reason", "probe bug, service healthy")
		out := step("codex", 0, "deploy", "stage", "1", "follow-up", "--status", "passed", "--finding", "auth probe, wrong path", "--finding", "retry terminal")
		for _, want := range []string{"deploy-run 1 of OPS-DEPLOY-001: failed", "smoke     failed   by codex (agent)", "not rolled back, decided by olivia", "follow-up tasks: OPS-FIX-001, OPS-FIX-002"} {
			if !strings.Contains(out, want) {
				t.Errorf("local=%v final run does not show %q:\n%s", local, want, out)
			}
		}
		var list []*fairway.DeployRun
		if err := json.Unmarshal([]byte(step("codex", 0, "deploy", "list", "--task", "OPS-DEPLOY-001", "--json")), &list); err != nil || len(list) != 1 || list[0].State != fairway.DeployFailed {
			t.Fatalf("list: %v %+v", err, list)
		}
		if out := step("codex", 0, "task", "show", "OPS-FIX-001"); !strings.Contains(out, "auth probe, wrong path") {
			t.Errorf("follow-up task does not carry the finding whole:\n%s", out)
		}
		step("codex", exitNotFound, "deploy", "show", "9")
		step("codex", exitUsage, "deploy", "show", "nine")
	}
}
