package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	"fairway/ledger"
	"fairway/sqlite"
)

// demoDir loads the demo into a fresh store folder.
func demoDir(t *testing.T) string {
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Load(context.Background(), ledger.New(store, blobs)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runAs runs one CLI invocation in-process on dir as actor.
func runAs(dir, actor string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	env := map[string]string{"FAIRWAY_DIR": dir, "FAIRWAY_ACTOR": actor}
	a := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	code = a.run(args)
	return out.String(), errb.String(), code
}

// An agent dropped cold into the demo ledger, using only the commands
// prime and the help texts name, gets from zero to a task in review with
// passing evidence. Each step is one command.
func TestCLI_ColdAgentLoopFromPrime(t *testing.T) {
	dir := demoDir(t)
	steps := 0
	step := func(args ...string) string {
		t.Helper()
		steps++
		out, errOut, code := runAs(dir, "codex-1", args...)
		if code != 0 {
			t.Fatalf("step %d %v: exit %d\n%s%s", steps, args, code, out, errOut)
		}
		return out
	}
	var brief struct {
		Actor string   `json:"actor"`
		Ready []string `json:"ready"`
		Loop  []string `json:"loop"`
	}
	if err := json.Unmarshal([]byte(step("prime", "--json")), &brief); err != nil {
		t.Fatal(err)
	}
	if brief.Actor != "codex-1" || len(brief.Loop) != 5 {
		t.Fatalf("prime = %+v", brief)
	}
	// Every command of the loop is one prime names.
	loop := strings.Join(brief.Loop, "\n")
	for _, cmd := range []string{"fairway task take KEY", "fairway gate explain KEY", "fairway run --task KEY", "fairway claim KEY", "fairway task move KEY in_review"} {
		if !strings.Contains(loop, cmd) {
			t.Fatalf("prime's loop does not name %q:\n%s", cmd, loop)
		}
	}
	key := ""
	for _, k := range brief.Ready {
		if strings.HasPrefix(k, "OPS-SAFE-") {
			key = k
			break
		}
	}
	if key == "" {
		t.Fatalf("no safe work ready in %v", brief.Ready)
	}
	if out := step("task", "take", key); out != key+" is in_progress, owned by codex-1\n" {
		t.Fatalf("task take: %q", out)
	}
	if out := step("gate", "explain", key); !strings.Contains(out, key) {
		t.Fatalf("gate explain: %q", out)
	}
	step("run", key, "--kind", "smoke", "--", "sh", "-c", "echo smoke: 12 checks, 12 passed")
	step("claim", key, "smoke passed")
	if out := step("task", "move", key, "in_review", "--note", "smoke recorded"); !strings.HasPrefix(out, key+" is in_review") {
		t.Fatalf("task move: %q", out)
	}
	if steps != 6 {
		t.Fatalf("the CLI loop took %d commands, want 6", steps)
	}
	t.Logf("CLI loop: %d commands from prime to in_review", steps)

	var view fairway.TaskView
	out, _, _ := runAs(dir, "codex-1", "task", "show", "--task", key, "--json", "--full")
	if err := json.Unmarshal([]byte(out), &view); err != nil {
		t.Fatal(err)
	}
	if view.Task.Status != fairway.StatusInReview || len(view.Evidence) == 0 {
		t.Fatalf("task %s: status %s, evidence %d", key, view.Task.Status, len(view.Evidence))
	}
	last := view.Evidence[len(view.Evidence)-1]
	if last.Kind != "smoke" || last.Command == nil || last.Command.ExitCode != 0 {
		t.Fatalf("latest evidence = %+v", last)
	}
	for _, r := range view.Gate.Requirements {
		if r.Kind == "evidence" && r.State == fairway.ReqUnsatisfied {
			t.Fatalf("evidence requirement unsatisfied after the loop: %+v", r)
		}
	}
}

// The help of evidence add and run teaches the policy's kinds, which count
// as proof, and what run records without --kind.
func TestHelp_ListsThePolicysEvidenceKinds(t *testing.T) {
	dir := demoDir(t)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"evidence", "add", "--help"}, []string{"from the policy in force (sha256:", "uat-report", "a JUnit XML report with at least one test and none failed or errored", "context", "not proof"}},
		{[]string{"run", "--help"}, []string{"Without --kind, run records command-result evidence", "--command-failure-code CODE", "alternate-profile"}},
	} {
		out, _, code := runAs(dir, "codex-1", c.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d", c.args, code)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v lacks %q:\n%s", c.args, w, out)
			}
		}
	}
	// With no store, the defaults; and no store is created by asking.
	empty := t.TempDir()
	out, _, _ := runAs(filepath.Join(empty, "none"), "codex-1", "evidence", "add", "--help")
	if !strings.Contains(out, "from the defaults (no store found)") {
		t.Fatalf("help without a store:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(empty, "none")); !os.IsNotExist(err) {
		t.Fatalf("help created a store: %v", err)
	}
}

// One convention for naming a task: KEY or --task KEY, not both.
func TestTaskKey_PositionalOrFlag(t *testing.T) {
	dir := demoDir(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"claim", "list", "OPS-SAFE-001"}, 0, "smoke passed"},
		{[]string{"claim", "list", "--task", "OPS-SAFE-001"}, 0, "smoke passed"},
		{[]string{"claim", "list", "OPS-SAFE-001", "--task", "OPS-SAFE-001"}, exitUsage, ""},
		{[]string{"claim", "list"}, exitUsage, ""},
		{[]string{"evidence", "list", "OPS-SAFE-001"}, 0, "smoke"},
		{[]string{"evidence", "list", "--task", "OPS-SAFE-001"}, 0, "smoke"},
		{[]string{"gate", "explain", "--task", "OPS-SAFE-001"}, 0, "OPS-SAFE-001"},
		{[]string{"review", "list", "--task", "OPS-SAFE-001"}, 0, ""},
		{[]string{"task", "show", "--task", "OPS-SAFE-001"}, 0, "OPS-SAFE-001"},
		{[]string{"next", "--mine", "--owner", "x"}, exitUsage, ""},
		{[]string{"next", "--mine"}, 0, "OPS-SAFE-004"},
		{[]string{"run", "--", "true"}, exitUsage, ""},
	} {
		out, errOut, code := runAs(dir, "codex-1", c.args...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, want %d; out %q err %q", c.args, code, c.code, out, errOut)
		}
	}
}

// run --json carries the command's exit code and Fairway's outcome;
// --command-failure-code maps a failed, recorded command to one code.
func TestRun_JSONAndCommandFailureCode(t *testing.T) {
	dir := demoDir(t)
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		outcome  string
		cmdCode  int
		noResult bool
	}{
		{"command fails with Fairway's not-found code", []string{"run", "OPS-SAFE-004", "--json", "--", "sh", "-c", "exit 3"}, 3, "recorded", 3, false},
		{"mapped to one reserved code", []string{"run", "OPS-SAFE-004", "--json", "--command-failure-code", "10", "--", "sh", "-c", "exit 3"}, 10, "recorded", 3, false},
		{"success is not mapped", []string{"run", "OPS-SAFE-004", "--json", "--command-failure-code", "10", "--", "true"}, 0, "recorded", 0, false},
		{"a reserved code of Fairway's own", []string{"run", "OPS-SAFE-004", "--command-failure-code", "3", "--", "true"}, exitUsage, "", 0, true},
		{"Fairway's not found", []string{"run", "OPS-NOPE-001", "--json", "--", "true"}, exitNotFound, "", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := runAs(dir, "codex-1", c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s", code, c.code, errOut)
			}
			var res runResult
			err := json.Unmarshal([]byte(errOut), &res)
			if c.noResult {
				if err == nil && res.Outcome != "" {
					t.Fatalf("a run result for a run that did not happen: %s", errOut)
				}
				return
			}
			if err != nil || res.Outcome != c.outcome || res.CommandExitCode != c.cmdCode || res.Exit != c.code || res.Evidence == nil {
				t.Fatalf("run result %+v (%v)\n%s", res, err, errOut)
			}
		})
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\| 8–125 \| .*--command-failure-code`).Match(readme) {
		t.Fatal("README's exit code table does not document --command-failure-code")
	}
}

// A task no rule covers never passes over nothing: the demo policy's
// defaults ask one independent human review of it (the plain message
// for a gate with no requirement at all is in the CLI table test).
func TestGateExplain_NeverPassesOverNothing(t *testing.T) {
	dir := demoDir(t)
	out, _, code := runAs(dir, "codex-1", "gate", "explain", "OPS-SAFE-004")
	if code != 0 || !strings.Contains(out, "Gate for OPS-SAFE-004: FAIL\n") ||
		!strings.Contains(out, "UNSATISFIED    review:ops — 0 of 1 approval(s)\n") ||
		!strings.Contains(out, "because: default: no other requirement applies\n") || strings.Contains(out, "No requirement applies") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	out, _, _ = runAs(dir, "codex-1", "gate", "explain", "OPS-UAT-KIND-FULL-001")
	if strings.Contains(out, "No requirement applies") {
		t.Fatalf("a gate with requirements said none applies:\n%s", out)
	}
}

// A failing smoke nothing requires still shows on the gate and in task
// show, and a human closes over it only by acknowledging it by ID.
func TestTaskClose_FailingLatestEvidenceIsAcknowledged(t *testing.T) {
	dir := demoDir(t)
	_, errOut, code := runAs(dir, "codex-1", "run", "--task", "OPS-SAFE-002", "--kind", "smoke", "--json", "--", "sh", "-c", "echo 2 checks failed; exit 3")
	var res runResult
	if err := json.Unmarshal([]byte(errOut), &res); err != nil || res.Evidence == nil || res.CommandExitCode != 3 {
		t.Fatalf("run: exit %d %v\n%s", code, err, errOut)
	}
	ev := res.Evidence.ID
	if out, errOut, code := runAs(dir, "omar", "review", "approve", "OPS-SAFE-002", "--domain", "ops"); code != 0 {
		t.Fatalf("approve: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ := runAs(dir, "olivia", "gate", "explain", "OPS-SAFE-002")
	for _, want := range []string{"Gate for OPS-SAFE-002: PASS\n", "  FAILING        smoke " + ev + " — exited 3\n",
		"  WARNING: latest evidence fails (" + ev + "); a closer must look at it and acknowledge it: `fairway task close OPS-SAFE-002 --acknowledge " + ev + "`\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("gate explain lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = runAs(dir, "olivia", "task", "show", "OPS-SAFE-002")
	if !strings.Contains(out, ev+" failing: exited 3") || !strings.Contains(out, "PASS, but latest evidence fails ("+ev+"): closing needs --acknowledge") {
		t.Fatalf("task show:\n%s", out)
	}
	out, errOut, code = runAs(dir, "olivia", "task", "close", "OPS-SAFE-002")
	if code != exitConflict || !strings.Contains(errOut, "not acknowledged: "+ev) || strings.Contains(out, "closed OPS-SAFE-002") {
		t.Fatalf("close without acknowledging: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runAs(dir, "olivia", "task", "close", "OPS-SAFE-002", "--acknowledge", ev)
	if code != 0 || !strings.Contains(out, "closed OPS-SAFE-002\n") {
		t.Fatalf("close acknowledging %s: exit %d\n%s%s", ev, code, out, errOut)
	}
}

// search finds the demo's records by their words, filters by kind and
// lane, and reads query syntax as words.
func TestSearch_FindsDemoRecords(t *testing.T) {
	dir := demoDir(t)
	cases := []struct {
		args []string
		code int
		want []string // lines the output starts with, in order
	}{
		{[]string{"search", "tunnel", "--kind", "task"}, 0, []string{"task     OPS-EDGE-TUNNEL-001  "}},
		{[]string{"search", "smoke", "passed", "--kind", "claim", "--lane", "safe-work", "--limit", "1"}, 0, []string{"claim    OPS-SAFE-00"}},
		{[]string{"search", "runners.csv"}, 0, []string{"evidence OPS-RUNNER-INVENTORY-001 EV-"}},
		{[]string{"search", `tunnel" OR "nothing`}, 0, []string{"no matches"}},
		{[]string{"search", "tunnel", "--kind", "chat"}, exitUsage, nil},
		{[]string{"search", "--kind", "task"}, exitUsage, nil},
	}
	for _, c := range cases {
		out, errOut, code := runAs(dir, "codex-1", c.args...)
		if code != c.code {
			t.Fatalf("%v: exit %d, want %d\n%s%s", c.args, code, c.code, out, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if c.want != nil && len(lines) != len(c.want) {
			t.Fatalf("%v: %d lines, want %d:\n%s", c.args, len(lines), len(c.want), out)
		}
		for i, w := range c.want {
			if !strings.HasPrefix(lines[i], w) {
				t.Fatalf("%v: line %d is %q, want it to start %q", c.args, i, lines[i], w)
			}
		}
	}
	out, _, _ := runAs(dir, "codex-1", "search", "kind", "smoke", "--json")
	var hits []fairway.SearchHit
	if err := json.Unmarshal([]byte(out), &hits); err != nil || len(hits) == 0 {
		t.Fatalf("--json: %v\n%s", err, out)
	}
}

// export then import into a new folder gives a ledger with the same
// verified head; importing into a full store is refused.
func TestExportImport_CLIRoundTrip(t *testing.T) {
	dir := demoDir(t)
	file := filepath.Join(t.TempDir(), "ledger.jsonl")
	out, errOut, code := runAs(dir, "", "export", "--jsonl", "--out", file)
	if code != 0 || out != "" || !strings.Contains(errOut, "exported ") || !strings.Contains(errOut, " rows of audit_events\n") {
		t.Fatalf("export: exit %d\n%s%s", code, out, errOut)
	}
	copyDir := filepath.Join(t.TempDir(), "copy")
	out, errOut, code = runAs(copyDir, "", "import", file)
	if code != 0 || !strings.Contains(out, "chain, tree and rows verify") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	heads := map[string]fairway.AuditVerification{}
	for _, d := range []string{dir, copyDir} {
		out, errOut, code := runAs(d, "", "audit", "verify", "--json")
		var v fairway.AuditVerification
		if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || !v.OK {
			t.Fatalf("audit verify %s: exit %d %v\n%s%s", d, code, err, out, errOut)
		}
		heads[d] = v
	}
	if a, b := heads[dir].Head, heads[copyDir].Head; a.Seq == 0 || a.Hash != b.Hash || a.TreeSize != b.TreeSize {
		t.Fatalf("heads differ: %+v and %+v", a, b)
	}
	if _, errOut, code := runAs(dir, "", "import", file); code != exitConflict || !strings.Contains(errOut, "import only into an empty store") {
		t.Fatalf("import into the demo: exit %d\n%s", code, errOut)
	}
	// The evidence bytes came along: every digest re-hashes in the copy,
	// and one record's bytes are the same.
	if out, errOut, code := runAs(copyDir, "", "evidence", "verify", "--json"); code != 0 || !strings.Contains(out, `"ok": true`) {
		t.Fatalf("evidence verify in the copy: exit %d\n%s%s", code, out, errOut)
	}
	list, _, _ := runAs(dir, "", "evidence", "list", "OPS-RUNNER-INVENTORY-001", "--json")
	var recs []fairway.Evidence
	if err := json.Unmarshal([]byte(list), &recs); err != nil || len(recs) == 0 {
		t.Fatalf("evidence list: %v\n%s", err, list)
	}
	orig, _, _ := runAs(dir, "", "evidence", "get", recs[0].ID)
	copied, errOut, code := runAs(copyDir, "", "evidence", "get", recs[0].ID)
	if code != 0 || orig == "" || copied != orig {
		t.Fatalf("evidence get %s in the copy: exit %d, %d bytes, want %d\n%s", recs[0].ID, code, len(copied), len(orig), errOut)
	}
	// Bytes changed in the copy's blob store are refused, and -o leaves
	// no file of them behind.
	d := recs[0].Digest
	blobPath := filepath.Join(copyDir, "blobs", "sha256", d[7:9], d[7:])
	os.Chmod(blobPath, 0o644)
	if err := os.WriteFile(blobPath, []byte(strings.ToUpper(orig)+" "), 0o644); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "saved")
	if _, errOut, code := runAs(copyDir, "", "evidence", "get", recs[0].ID, "-o", saved); code == 0 || !strings.Contains(errOut, "changed outside Fairway") {
		t.Fatalf("evidence get of changed bytes: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(saved); !os.IsNotExist(err) {
		t.Fatalf("evidence get -o left a file of changed bytes: %v", err)
	}
	// Records only: the copy verifies its chain, and evidence verify names
	// the bytes it lacks.
	recordsOnly := filepath.Join(t.TempDir(), "records.jsonl")
	if _, errOut, code := runAs(dir, "", "export", "--jsonl", "--evidence-bytes=false", "--out", recordsOnly); code != 0 {
		t.Fatalf("export --evidence-bytes=false: exit %d\n%s", code, errOut)
	}
	bare := filepath.Join(t.TempDir(), "bare")
	if _, errOut, code := runAs(bare, "", "import", recordsOnly); code != 0 {
		t.Fatalf("import records only: exit %d\n%s", code, errOut)
	}
	if out, _, code := runAs(bare, "", "evidence", "verify"); code == 0 || !strings.Contains(out, "the blob is missing") {
		t.Fatalf("evidence verify without the bytes: exit %d\n%s", code, out)
	}
	// A damaged chunk is refused before any row is loaded.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), `{"chunk":"`)
	if i < 0 {
		t.Fatalf("the export carries no evidence bytes")
	}
	damaged := []byte(string(data))
	j := i + len(`{"chunk":"`)
	if damaged[j] == 'A' {
		damaged[j] = 'B'
	} else {
		damaged[j] = 'A'
	}
	badFile := filepath.Join(t.TempDir(), "damaged.jsonl")
	if err := os.WriteFile(badFile, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if _, errOut, code := runAs(empty, "", "import", badFile); code != exitUsage || !strings.Contains(errOut, "the export is damaged") {
		t.Fatalf("import of a damaged export: exit %d\n%s", code, errOut)
	}
	if out, _, _ := runAs(empty, "", "audit", "verify", "--json"); !strings.Contains(out, `"seq": 0`) {
		t.Fatalf("a refused import left rows behind:\n%s", out)
	}
	if _, errOut, code := runAs(dir, "", "export", "--out", file); code != exitUsage || !strings.Contains(errOut, "--jsonl") {
		t.Fatalf("export without --jsonl: exit %d\n%s", code, errOut)
	}
}
