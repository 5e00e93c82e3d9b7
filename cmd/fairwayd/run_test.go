package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/sqlite"
)

func setupRunStore(t *testing.T) string {
	dir := t.TempDir()
	for _, args := range [][]string{{"actor", "create", "alice", "--kind", "human"}, {"task", "create", "RUN-1", "--title", "run"}} {
		if out, err := fairwayCommand(dir, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func openRunLedger(t *testing.T, dir string) *ledger.Ledger {
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	blobs, _ := blob.NewFileStore(filepath.Join(dir, "blobs"))
	return ledger.New(s, blobs)
}

func readPart(t *testing.T, l *ledger.Ledger, id, part string) string {
	rc, err := l.OpenEvidence(context.Background(), id, part)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b strings.Builder
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

func TestRun_RecordsCommandAndKeepsItsExitCode(t *testing.T) {
	dir := setupRunStore(t)
	cmd := fairwayCommand(dir, "run", "--task", "RUN-1", "--", "sh", "-c", "echo out-1; echo err-1 >&2; exit 7")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Fatalf("exit = %v, want 7", err)
	}
	if stdout.String() != "out-1\n" || !strings.HasPrefix(stderr.String(), "err-1\nfairway: recorded EV-") {
		t.Fatalf("terminal got stdout %q stderr %q", stdout.String(), stderr.String())
	}
	l := openRunLedger(t, dir)
	list, err := l.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: "RUN-1"})
	if err != nil || len(list) != 1 {
		t.Fatalf("evidence = %v %v", list, err)
	}
	e := list[0]
	c := e.Command
	if e.Kind != "command-result" || c == nil || c.ExitCode != 7 || c.Interrupted || strings.Join(c.Argv, " ") != "sh -c echo out-1; echo err-1 >&2; exit 7" {
		t.Fatalf("record = %+v command %+v", e, c)
	}
	if got := readPart(t, l, e.ID, "stdout"); got != "out-1\n" {
		t.Fatalf("stdout part = %q", got)
	}
	if got := readPart(t, l, e.ID, "stderr"); got != "err-1\n" {
		t.Fatalf("stderr part = %q", got)
	}
	if got := readPart(t, l, e.ID, ""); len(got) != len("out-1\nerr-1\n") {
		t.Fatalf("combined log = %q", got)
	}
	if e.Environment == nil || e.Environment.OS == "" || !strings.HasPrefix(e.Environment.Fingerprint, "sha256:") {
		t.Fatalf("environment = %+v", e.Environment)
	}
}

func TestRun_SignalReachesChildAndPartialLogIsKept(t *testing.T) {
	dir := setupRunStore(t)
	cmd := fairwayCommand(dir, "run", "--task", "RUN-1", "--json", "--", "sh", "-c", "trap 'echo stopping; exit 143' TERM; echo started; sleep 30 & wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "started" {
		t.Fatalf("first line %q", sc.Text())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	for sc.Scan() {
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 143 {
		t.Fatalf("exit = %v, want 143; stderr %s", err, stderr.String())
	}
	var res struct {
		Outcome         string            `json:"outcome"`
		CommandExitCode int               `json:"command_exit_code"`
		Exit            int               `json:"exit"`
		Evidence        *fairway.Evidence `json:"evidence"`
	}
	if err := json.Unmarshal([]byte(stderr.String()), &res); err != nil || res.Evidence == nil {
		t.Fatalf("stderr is not the run result JSON: %v\n%s", err, stderr.String())
	}
	if res.Outcome != "recorded" || res.CommandExitCode != 143 || res.Exit != 143 {
		t.Fatalf("run result = %+v", res)
	}
	e := res.Evidence
	if e.Command == nil || !e.Command.Interrupted || e.Command.Signal != "terminated" || e.Command.ExitCode != 143 {
		t.Fatalf("command = %+v", e.Command)
	}
	if e.Command.Ended.Sub(e.Command.Started) > 20*time.Second {
		t.Fatalf("the child was not stopped by the signal")
	}
	l := openRunLedger(t, dir)
	if got := readPart(t, l, e.ID, ""); got != "started\nstopping\n" {
		t.Fatalf("partial log = %q", got)
	}
}

func TestRun_UnknownTaskRunsNothing(t *testing.T) {
	dir := setupRunStore(t)
	marker := filepath.Join(t.TempDir(), "ran")
	out, err := fairwayCommand(dir, "run", "--task", "NOPE-1", "--", "touch", marker).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitNotFound {
		t.Fatalf("exit = %v (%s)", err, out)
	}
	if _, err := exec.Command("test", "-e", marker).Output(); err == nil {
		t.Fatal("the command ran for an unknown task")
	}
}
