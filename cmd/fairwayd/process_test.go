package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"fairway"
	"fairway/blobtest"
	"fairway/internal/fakeagent"
	"fairway/ledger"
	"fairway/sqlite"
)

// runMainEnv makes the test binary behave as the fairway binary, so tests
// can start real processes without building one.
const runMainEnv = "FAIRWAY_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(fakeagent.EnvVar) == "1" {
		os.Exit(fakeagent.Main(os.Args[1:], os.Stdin, os.Stdout))
	}
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	if socket := os.Getenv(daemonClientEnv); socket != "" {
		os.Exit(daemonClient(socket))
	}
	code := m.Run()
	blobtest.StopS3()
	os.Exit(code)
}

func fairwayCommand(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "FAIRWAY_DIR="+dir, "FAIRWAY_ACTOR=alice")
	return cmd
}

// TestProcesses_ConcurrentWritersAllSucceed runs many fairway processes
// writing the same store at once: none may fail with "database is locked".
func TestProcesses_ConcurrentWritersAllSucceed(t *testing.T) {
	dir := t.TempDir()
	if out, err := fairwayCommand(dir, "actor", "create", "alice", "--kind", "human").CombinedOutput(); err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	const procs, each = 8, 6
	var wg sync.WaitGroup
	failures := make(chan string, procs*each)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				out, err := fairwayCommand(dir, "task", "create", fmt.Sprintf("P%d-%d", p, i), "--title", "parallel").CombinedOutput()
				if err != nil {
					failures <- fmt.Sprintf("P%d-%d: %v: %s", p, i, err, out)
				}
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := ledger.New(s, nil)
	tasks, _ := l.ListTasks(context.Background(), fairway.TaskFilter{})
	if len(tasks) != procs*each {
		t.Fatalf("%d tasks, want %d", len(tasks), procs*each)
	}
	if v, _ := l.VerifyAudit(context.Background()); !v.OK || v.Events != procs*each+1 {
		t.Fatalf("audit: %+v", v)
	}
}

func TestProcesses_ExitCodes(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"actor", "create", "alice", "--kind", "human", "--no-token"}, 0, "created human alice\n"},
		{[]string{"task", "show", "NOPE-1"}, exitNotFound, "fairway: task \"NOPE-1\" not found\n"},
		{[]string{"task", "create", "A-1", "--title", "t"}, 0, "created A-1\n"},
		{[]string{"task", "create", "A-1", "--title", "t"}, exitConflict, "fairway: task \"A-1\" already exists\n"},
		{[]string{"task", "create", "--bogus"}, exitUsage, "fairway: flag provided but not defined: -bogus (see 'fairway task create --help')\n"},
		{[]string{"task", "show", "A-1", "--json", "--as", "ghost"}, 0, ""},
		{[]string{"task", "move", "A-1", "in_progress", "--as", "ghost"}, exitUnauthorized, "fairway: actor \"ghost\" is not known; create it with `fairway actor create ghost --kind human|agent|service`\n"},
	}
	for _, c := range cases {
		out, err := fairwayCommand(dir, c.args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, code, c.code, out)
		}
		if c.out != "" && string(out) != c.out {
			t.Errorf("%v: output %q, want %q", c.args, out, c.out)
		}
	}
}

// TestProcesses_FindTheStoreAbove runs fairway in a subfolder with no
// --dir: it uses the .fairway store of the folder above, as git does.
func TestProcesses_FindTheStoreAbove(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "services", "gpuaas")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(dir string, args ...string) string {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), runMainEnv+"=1", "FAIRWAY_DIR=", "FAIRWAY_ACTOR=alice")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v in %s: %v\n%s", args, dir, err, out)
		}
		return string(out)
	}
	// The store is made explicitly, so that no store in a folder above the
	// test's temporary folder can be found instead.
	run(root, "actor", "create", "alice", "--kind", "human", "--no-token", "--dir", filepath.Join(root, ".fairway"))
	run(sub, "task", "create", "SUB-1", "--title", "from below")
	if _, err := os.Stat(filepath.Join(sub, ".fairway")); !os.IsNotExist(err) {
		t.Fatalf("a second store was made in the subfolder: %v", err)
	}
	if out := run(root, "task", "show", "SUB-1", "--json"); !strings.Contains(out, `"key": "SUB-1"`) {
		t.Fatalf("task not in the root store: %s", out)
	}
}
