package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairway/demo"
)

// TestReconcile_ListsWhatToSettleBeforeSwitchingLanes: an in-progress
// task, a task in review nobody was asked to review, evidence no
// requirement reads and a claim no evidence backs are each listed, and
// the command fails until they are settled.
func TestReconcile_ListsWhatToSettleBeforeSwitchingLanes(t *testing.T) {
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		files := t.TempDir()
		os.WriteFile(filepath.Join(files, "governance.yaml"), demo.Policy, 0o644)
		step := func(as string, want int, args ...string) string {
			t.Helper()
			out, errOut, code := e.run(as, args...)
			if code != want {
				t.Fatalf("local=%v %s: exit %d (%s %s), want %d", local, strings.Join(args, " "), code, out, errOut, want)
			}
			return out
		}
		step("alice", 0, "policy", "apply", filepath.Join(files, "governance.yaml"))
		step("alice", 0, "task", "create", "OPS-RECON-001", "--title", "work", "--owner", "codex")
		step("alice", 0, "task", "create", "OPS-RECON-002", "--title", "reviewed work", "--owner", "codex")
		step("codex", 0, "task", "move", "OPS-RECON-001", "in_progress")
		step("codex", 0, "task", "move", "OPS-RECON-002", "in_progress")
		step("codex", 0, "task", "move", "OPS-RECON-002", "in_review")
		step("codex", 0, "run", "--task", "OPS-RECON-001", "--", "true")
		step("codex", 0, "claim", "OPS-RECON-001", "smoke passes on kind")
		var r reconcileReport
		if err := json.Unmarshal([]byte(step("codex", exitFailure, "reconcile", "--json")), &r); err != nil {
			t.Fatal(err)
		}
		if r.Scope != "tasks owned by codex" || len(r.InProgress) != 1 || r.InProgress[0].Key != "OPS-RECON-001" ||
			len(r.Unrouted) != 1 || r.Unrouted[0].Key != "OPS-RECON-002" || strings.Join(r.Unrouted[0].Detail, ",") != "ops" ||
			len(r.Unlinked) != 1 || r.Unlinked[0].Kind != "command-result" || r.Unlinked[0].Task != "OPS-RECON-001" ||
			len(r.Unbacked) != 1 || r.Unbacked[0].Text != "smoke passes on kind" || r.Settled {
			t.Fatalf("local=%v reconcile = %+v", local, r)
		}
		human := step("codex", exitFailure, "reconcile")
		for _, want := range []string{"in progress     OPS-RECON-001", "review unasked  OPS-RECON-002", "ask ops to review it", `"smoke passes on kind" by codex: no evidence recorded since`} {
			if !strings.Contains(human, want) {
				t.Fatalf("human reconcile lacks %q:\n%s", want, human)
			}
		}
		// Reviewed, handed over, and nothing else open: settled.
		step("omar", 0, "review", "approve", "OPS-RECON-002", "--domain", "ops")
		step("alice", 0, "task", "cancel", "OPS-RECON-001", "--reason", "moved to another lane")
		if out := step("codex", 0, "reconcile"); !strings.Contains(out, "settled:") {
			t.Fatalf("after settling:\n%s", out)
		}
	}
}
