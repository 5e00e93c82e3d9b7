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

// TestMonitor_TerminalEvidencePassesTheGateAndNothingCloses: a monitor
// task's gate waits for the watched run's terminal evidence; recording it
// moves the task to review and the gate passes, but only a human closes
// it. A failure is terminal too, and opens a follow-up; the closer
// acknowledges it. The record is the CI system's (its service actor's),
// never an agent's.
func TestMonitor_TerminalEvidencePassesTheGateAndNothingCloses(t *testing.T) {
	for _, conclusion := range []string{"success", "failure"} {
		e := newCLIEnv(t, true)
		files := t.TempDir()
		os.WriteFile(filepath.Join(files, "governance.yaml"), demo.Policy, 0o644)
		step := func(as string, want int, args ...string) string {
			t.Helper()
			out, errOut, code := e.run(as, args...)
			if code != want {
				t.Fatalf("%s: %s: exit %d (%s), want %d", conclusion, strings.Join(args, " "), code, errOut, want)
			}
			return out + errOut
		}
		step("alice", 0, "policy", "apply", filepath.Join(files, "governance.yaml"))
		step("alice", 0, "lane", "create", "closeout", "--prefix", "OPS-CI")
		step("alice", 0, "task", "create", "OPS-CI-MONITOR-001", "--title", "watch main CI", "--lane", "closeout", "--label", "monitor")
		step("alice", 0, "task", "create", "OPS-PLAIN-001", "--title", "not a monitor")
		if out := step("codex", 0, "gate", "explain", "OPS-CI-MONITOR-001"); !strings.Contains(out, ": FAIL") || !strings.Contains(out, "UNSATISFIED    evidence:ci-terminal") {
			t.Fatalf("gate before: %s", out)
		}
		step("codex", exitUsage, "monitor", "record", "--task", "OPS-CI-MONITOR-001", "--run", "42", "--conclusion", "in_progress")
		step("codex", exitUsage, "monitor", "record", "--task", "OPS-PLAIN-001", "--run", "42", "--conclusion", "success")
		// How a run ended is the CI system's word: an agent cannot write it.
		step("codex", exitForbidden, "monitor", "record", "--task", "OPS-CI-MONITOR-001", "--run", "42", "--conclusion", conclusion)
		step("alice", 0, "actor", "create", "ci", "--kind", "service")
		var res monitorResult
		if err := json.Unmarshal([]byte(step("ci", 0, "monitor", "record", "--task", "OPS-CI-MONITOR-001", "--run", "https://github.com/acme/gpuaas/actions/runs/42", "--conclusion", conclusion, "--json")), &res); err != nil {
			t.Fatal(err)
		}
		if res.Task.Status != fairway.StatusInReview || res.Evidence.Kind != "ci-terminal" {
			t.Fatalf("%s: task %s evidence %s", conclusion, res.Task.Status, res.Evidence.Kind)
		}
		if (res.FollowUp != nil) != (conclusion == "failure") || res.FollowUp != nil && res.FollowUp.Key != "OPS-CI-001" {
			t.Fatalf("%s: follow-up %+v", conclusion, res.FollowUp)
		}
		if out := step("codex", 0, "gate", "explain", "OPS-CI-MONITOR-001"); !strings.Contains(out, "Gate for OPS-CI-MONITOR-001: PASS") || !strings.Contains(out, "SATISFIED      evidence:ci-terminal") {
			t.Fatalf("gate after: %s", out)
		}
		step("codex", exitForbidden, "task", "close", "OPS-CI-MONITOR-001")
		if conclusion == "failure" {
			// The run ended, so the monitor's gate passes; that it failed is
			// shown as failing evidence, which the closer must acknowledge.
			if out := step("alice", exitConflict, "task", "close", "OPS-CI-MONITOR-001"); !strings.Contains(out, "the watched run concluded failure") || !strings.Contains(out, "--acknowledge "+res.Evidence.ID) {
				t.Fatalf("close over a failed run without acknowledging it: %s", out)
			}
			step("alice", 0, "task", "close", "OPS-CI-MONITOR-001", "--acknowledge", res.Evidence.ID)
			continue
		}
		step("alice", 0, "task", "close", "OPS-CI-MONITOR-001")
	}
}
