package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairway/internal/daemon"
)

func TestDaemon_CommandsNameRealCommands(t *testing.T) {
	for _, name := range daemon.Commands {
		if c := findCommand(strings.Fields(name)); c == nil || c.name != name {
			t.Errorf("daemon.Commands has %q, which is not a command", name)
		}
	}
}

func TestDaemon_ServesOnlyItsCommandsOnTheLocalStore(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, c := range []struct {
		args []string
		env  map[string]string
		dir  string
		want bool
	}{
		{args: []string{"task", "list"}, want: true},
		{args: nil, want: true},
		{args: []string{"help", "task", "list"}, want: true},
		{args: []string{"task"}, want: true},          // the group's list
		{args: []string{"no-such-thing"}, want: true}, // a usage error
		{args: []string{"task", "list", "--bogus"}, want: true},
		{args: []string{"run", "T-1", "--", "true"}, want: false},
		{args: []string{"help", "run", "--", "sh", "-c", "true"}, want: false}, // help X is X --help, and -- ends the flags
		{args: []string{"help", "help", "serve"}, want: false},
		{args: []string{"daemon", "--socket", "/x.sock"}, want: false},
		{args: []string{"evidence", "add", "T-1", "-"}, want: false},
		{args: []string{"task", "list", "--server", "http://127.0.0.1:1"}, want: false},
		{args: []string{"task", "list", "-server=http://127.0.0.1:1"}, want: false},
		{args: []string{"task", "list"}, env: map[string]string{"FAIRWAY_SERVER": "http://x"}, want: false},
		{args: []string{"task", "list"}, env: map[string]string{"FAIRWAY_STORE": "postgres://x"}, want: false},
		{args: []string{"task", "list"}, env: map[string]string{"FAIRWAY_BLOBS": "s3://b/p"}, want: false},
		{args: []string{"task", "list"}, dir: "relative", want: false},
	} {
		getenv := noEnv
		if c.env != nil {
			getenv = func(k string) string { return c.env[k] }
		}
		dir := c.dir
		if dir == "" {
			dir = "/"
		}
		if got := servable(&daemon.Request{Args: c.args, Dir: dir}, getenv); got != c.want {
			t.Errorf("servable(%q, env %v, dir %q) = %v, want %v", c.args, c.env, dir, got, c.want)
		}
	}
}

func TestDaemon_EnvironmentReadsAsGetenvDoes(t *testing.T) {
	getenv := envLookup([]string{"A=1", "A=2", "B=x=y", "NOEQUALS", "E="})
	for k, want := range map[string]string{"A": "1", "B": "x=y", "NOEQUALS": "", "E": "", "MISSING": ""} {
		if got := getenv(k); got != want {
			t.Errorf("getenv(%q) = %q, want %q", k, got, want)
		}
	}
}

// panicWriter stands for a command that crashes mid-way.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("broken writer") }

func TestDaemon_APanicEndsOnlyItsRequest(t *testing.T) {
	var errb bytes.Buffer
	a := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: panicWriter{}, stderr: &errb, getenv: func(string) string { return "" }, cwd: "/"}
	if code := runRequest(a, []string{"version"}); code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	if !strings.Contains(errb.String(), "fairway: internal error") || !strings.Contains(errb.String(), "broken writer") {
		t.Fatalf("stderr: %q", errb.String())
	}
	var out bytes.Buffer
	b := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, cwd: "/"}
	if code := runRequest(b, []string{"version"}); code != exitOK || !strings.HasPrefix(out.String(), "fairway ") {
		t.Fatalf("the next request: exit %d, %q", code, out.String())
	}
}

func TestDaemon_StoreCacheFollowsTheFile(t *testing.T) {
	var c storeCache
	defer c.sweep(0)
	dir := t.TempDir()
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		a := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			getenv: func(k string) string { return map[string]string{"FAIRWAY_ACTOR": "alice"}[k] }, cwd: dir, stores: &c}
		code := a.run(args)
		return code, out.String() + errb.String()
	}
	if code, out := run("actor", "create", "alice", "--kind", "human", "--no-token"); code != 0 {
		t.Fatalf("actor create: %d %s", code, out)
	}
	if code, out := run("task", "create", "OLD-1", "--title", "before"); code != 0 {
		t.Fatalf("task create: %d %s", code, out)
	}
	if code, out := run("task", "list"); code != 0 || !strings.Contains(out, "OLD-1") {
		t.Fatalf("task list: %d %s", code, out)
	}
	if len(c.open) != 1 {
		t.Fatalf("%d stores open, want 1", len(c.open))
	}
	// The folder is deleted and made again: the new store is read, not
	// the one still open.
	if err := os.RemoveAll(filepath.Join(dir, ".fairway")); err != nil {
		t.Fatal(err)
	}
	if code, out := run("task", "list"); code != 3 {
		t.Fatalf("task list with the store gone: %d %s", code, out)
	}
	if code, out := run("actor", "create", "alice", "--kind", "human", "--no-token"); code != 0 {
		t.Fatalf("actor create again: %d %s", code, out)
	}
	if code, out := run("task", "list"); code != 0 || strings.Contains(out, "OLD-1") {
		t.Fatalf("task list of the new store: %d %s", code, out)
	}
	c.sweep(storeUnused)
	if len(c.open) != 1 {
		t.Fatalf("%d stores open after the sweep, want the current one", len(c.open))
	}
}
