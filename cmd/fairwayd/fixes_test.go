package main

import (
	"bytes"
	"context"
	"fairway/demo"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runApp runs one in-process invocation with the given environment.
func runApp(env map[string]string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	a := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return env[k] }}
	code = a.run(args)
	return out.String(), errb.String(), code
}

// TestRun_RefusesBeforeRunning: who acts and the task are checked before
// the command starts, so a refusal never costs a run.
func TestRun_RefusesBeforeRunning(t *testing.T) {
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		if _, errOut, code := e.run("alice", "task", "create", "RUN-1", "--title", "run"); code != 0 {
			t.Fatal(errOut)
		}
		if _, errOut, code := e.run("alice", "task", "create", "RUN-M", "--title", "mutate", "--mutating"); code != 0 {
			t.Fatal(errOut)
		}
		cases := []struct {
			as, task string
			code     int
			stderr   string // in local mode; the server answers by token
		}{
			{"ghost", "RUN-1", exitUnauthorized, "ghost"},
			{"", "RUN-1", exitUnauthorized, ""},
			{"codex", "NOPE-1", exitNotFound, "fairway: task \"NOPE-1\" not found\n"},
			// A mutating task runs nothing until it starts, where R5
			// checks its protected controls.
			{"codex", "RUN-M", exitGateFailed, "fairway: RUN-M is a mutating task and is open: no command runs as its work until it starts (`fairway task take RUN-M`, which checks its protected controls first)\n"},
		}
		for _, c := range cases {
			marker := filepath.Join(t.TempDir(), "ran")
			_, errOut, code := e.run(c.as, "run", "--task", c.task, "--", "touch", marker)
			if code != c.code || local && !strings.Contains(errOut, c.stderr) {
				t.Errorf("local=%v as %q task %s: exit %d stderr %q, want %d %q", local, c.as, c.task, code, errOut, c.code, c.stderr)
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Errorf("local=%v as %q task %s: the command ran before the refusal", local, c.as, c.task)
			}
		}
		if _, errOut, code := e.run("codex", "task", "take", "RUN-M"); code != 0 {
			t.Fatal(errOut)
		}
		marker := filepath.Join(t.TempDir(), "ran")
		if _, errOut, code := e.run("codex", "run", "--task", "RUN-M", "--", "touch", marker); code != 0 {
			t.Fatalf("local=%v: run on the started task: exit %d %s", local, code, errOut)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Fatalf("local=%v: the command did not run once the task started: %v", local, err)
		}
	}
}

// TestRun_AnUnstartedProtectedTaskRunsOnlyWhatItsStartNeeds: before a
// protected mutating task starts, the one run it takes records evidence
// a protected control still needs (its rollback criteria); any other
// command waits for the start (R5).
func TestRun_AnUnstartedProtectedTaskRunsOnlyWhatItsStartNeeds(t *testing.T) {
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		policyFile := filepath.Join(t.TempDir(), "governance.yaml")
		if err := os.WriteFile(policyFile, demo.Policy, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"policy", "apply", policyFile},
			{"task", "create", "OPS-EDGE-9", "--title", "rotate", "--surface", "edge", "--change-class", "edge-dns", "--mutating"},
		} {
			if _, errOut, code := e.run("alice", args...); code != 0 {
				t.Fatalf("%v: %s", args, errOut)
			}
		}
		marker := filepath.Join(t.TempDir(), "ran")
		_, errOut, code := e.run("codex", "run", "--task", "OPS-EDGE-9", "--", "touch", marker)
		if code != exitGateFailed || !strings.Contains(errOut, "OPS-EDGE-9 is a mutating task and is open") {
			t.Fatalf("local=%v: a plain run: exit %d %q", local, code, errOut)
		}
		if _, err := os.Stat(marker); !os.IsNotExist(err) {
			t.Fatalf("local=%v: the command ran before the task started", local)
		}
		if _, errOut, code := e.run("codex", "run", "--task", "OPS-EDGE-9", "--kind", "rollback-plan", "--", "touch", marker); code != 0 {
			t.Fatalf("local=%v: recording the rollback criteria: exit %d %s", local, code, errOut)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Fatalf("local=%v: the rollback run did not run: %v", local, err)
		}
		// Recorded, the control no longer needs a run: the next waits.
		if _, errOut, code := e.run("codex", "run", "--task", "OPS-EDGE-9", "--kind", "rollback-plan", "--", "true"); code != exitGateFailed {
			t.Fatalf("local=%v: a second rollback run: exit %d %s", local, code, errOut)
		}
	}
}

// TestServe_PortInUseNamesAddr: serve and demo say to use --addr, and demo
// loads nothing when it cannot bind.
func TestServe_PortInUseNamesAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	want := "fairway: addr: " + addr + " is already in use (another Fairway?); stop it or choose another address with --addr HOST:PORT\n"
	for _, cmd := range []string{"serve", "demo"} {
		dir := t.TempDir()
		_, errOut, code := runApp(map[string]string{"FAIRWAY_DIR": dir}, cmd, "--addr", addr)
		if code != exitUsage || errOut != want {
			t.Errorf("%s: exit %d stderr %q, want %d %q", cmd, code, errOut, exitUsage, want)
		}
		if _, err := os.Stat(filepath.Join(dir, "fairway.db")); !os.IsNotExist(err) {
			t.Errorf("%s opened or loaded a store before binding: %v", cmd, err)
		}
	}
}

func TestHelp_ShowsDefaultsAndFlagNamesAsTyped(t *testing.T) {
	cases := []struct {
		cmd       []string
		want, not string
	}{
		{[]string{"serve"}, "--addr HOST:PORT", ""},
		{[]string{"serve"}, "HOST:PORT to listen on (default 127.0.0.1:8080)", ""},
		{[]string{"serve"}, "(default 15m0s)", ""},
		{[]string{"demo"}, "(default 127.0.0.1:8080)", ""},
		{[]string{"evidence", "get"}, "  -o FILE ", "--o"},
		{[]string{"evidence", "get"}, "(default content)", ""},
		{[]string{"task", "create"}, "0 (most urgent) to 4 (default 2)", ""},
		{[]string{"task", "update"}, "0 (most urgent) to 4\n", "(default 2)"},
		{[]string{"waiver", "request"}, "--requirement ID ", ""},
	}
	for _, c := range cases {
		out, _, code := runApp(nil, append(c.cmd, "--help")...)
		if code != exitOK || !strings.Contains(out, c.want) || c.not != "" && strings.Contains(out, c.not) {
			t.Errorf("%v --help (exit %d) lacks %q or has %q:\n%s", c.cmd, code, c.want, c.not, out)
		}
	}
}

// TestWaiverList_NoFlagsListsAll runs on the demo, which holds a pending
// waiver.
func TestWaiverList_NoFlagsListsAll(t *testing.T) {
	env := map[string]string{"FAIRWAY_DIR": t.TempDir()}
	if _, errOut, code := runApp(env, "demo", "--load-only"); code != 0 {
		t.Fatalf("demo: %s", errOut)
	}
	all, _, code := runApp(env, "waiver", "list")
	one, _, _ := runApp(env, "waiver", "list", "--task", "OPS-UAT-KIND-FULL-001")
	if code != 0 || all == "no waivers\n" || !strings.HasPrefix(all, "ID  ") || !strings.Contains(all, "OPS-UAT-KIND-FULL-001") {
		t.Fatalf("waiver list: exit %d\n%s", code, all)
	}
	if !strings.Contains(one, strings.Split(all, "\n")[1]) {
		t.Fatalf("the task's waiver is not in the full list:\n%s\n%s", one, all)
	}
}

// TestServer_401NamesTheTokenFlag: a request without a token is told how
// the CLI sends one.
func TestServer_401NamesTheTokenFlag(t *testing.T) {
	e := newCLIEnv(t, false)
	_, errOut, code := e.run("", "actor", "whoami")
	want := "fairway: a bearer token is required: send `Authorization: Bearer TOKEN` (the CLI sends --token or $FAIRWAY_TOKEN); `fairway actor create NAME --kind KIND` prints one\n"
	if code != exitUnauthorized || errOut != want {
		t.Fatalf("exit %d stderr %q, want %q", code, errOut, want)
	}
}
