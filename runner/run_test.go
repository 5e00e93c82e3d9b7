package runner_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"fairway"
	"fairway/runner"
)

func read(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRun_KeepsExitCodeAndEachStream(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name           string
		argv           []string
		code           int
		signal         string
		stdout, stderr string
	}{
		{"fails", []string{"sh", "-c", "echo out-1; echo err-1 >&2; exit 7"}, 7, "", "out-1\n", "err-1\n"},
		{"succeeds", []string{"sh", "-c", "echo ok"}, 0, "", "ok\n", ""},
		{"runs in Dir", []string{"pwd"}, 0, "", dir + "\n", ""},
		{"killed by a signal", []string{"sh", "-c", "echo before; kill -KILL $$"}, 128 + 9, "killed", "before\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var term bytes.Buffer
			res, err := runner.Run(context.Background(), runner.Spec{Argv: c.argv, Dir: dir, Stdout: &term, Stderr: &term})
			if err != nil {
				t.Fatal(err)
			}
			defer res.Close()
			cmd := res.Command
			if res.ExitCode() != c.code || cmd.Signal != c.signal || cmd.Interrupted != (c.signal != "") || cmd.Dir != dir {
				t.Fatalf("command = %+v", cmd)
			}
			if strings.Join(cmd.Argv, " ") != strings.Join(c.argv, " ") || cmd.Ended.Before(cmd.Started) {
				t.Fatalf("command = %+v", cmd)
			}
			if got := read(t, res.Stdout); got != c.stdout {
				t.Fatalf("stdout part %q, want %q", got, c.stdout)
			}
			if got := read(t, res.Stderr); got != c.stderr {
				t.Fatalf("stderr part %q, want %q", got, c.stderr)
			}
			if got := read(t, res.Log); len(got) != len(c.stdout+c.stderr) {
				t.Fatalf("log %q", got)
			}
			if term.Len() != len(c.stdout+c.stderr) {
				t.Fatalf("terminal got %q", term.String())
			}
			if res.Environment == nil || !strings.HasPrefix(res.Environment.Fingerprint, "sha256:") {
				t.Fatalf("environment = %+v", res.Environment)
			}
			names := []string{res.Log.Name(), res.Stdout.Name(), res.Stderr.Name()}
			res.Close()
			for _, n := range names {
				if _, err := os.Stat(n); !os.IsNotExist(err) {
					t.Fatalf("%s left behind: %v", n, err)
				}
			}
		})
	}
}

func TestRun_RefusesWhatCannotStart(t *testing.T) {
	cases := []struct {
		argv []string
		msg  string
	}{
		{nil, "command: is empty: name the program to run"},
		{[]string{filepath.Join(t.TempDir(), "missing")}, "command: cannot start "},
	}
	for _, c := range cases {
		res, err := runner.Run(context.Background(), runner.Spec{Argv: c.argv})
		if res != nil || fairway.ErrorCode(err) != fairway.EINVALID || !strings.HasPrefix(err.Error(), c.msg) {
			t.Errorf("%v: res %v err %v, want %q", c.argv, res, err, c.msg)
		}
	}
}

// lineWatch reports when a line has been written.
type lineWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.buf.String(), w.want)
	w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func TestRun_StopsTheCommandAndKeepsThePartialLog(t *testing.T) {
	script := []string{"sh", "-c", "trap 'echo stopping; exit 143' TERM; echo started; sleep 30 & wait"}
	cases := []struct {
		name string
		stop func(sigs chan os.Signal, cancel context.CancelFunc)
	}{
		{"forwarded signal", func(sigs chan os.Signal, _ context.CancelFunc) { sigs <- syscall.SIGTERM }},
		{"cancelled context", func(_ chan os.Signal, cancel context.CancelFunc) { cancel() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sigs := make(chan os.Signal, 1)
			out := &lineWatch{want: "started\n", seen: make(chan struct{})}
			go func() {
				<-out.seen
				c.stop(sigs, cancel)
			}()
			res, err := runner.Run(ctx, runner.Spec{Argv: script, Stdout: out, Signals: sigs})
			if err != nil {
				t.Fatal(err)
			}
			defer res.Close()
			if cmd := res.Command; !cmd.Interrupted || cmd.Signal != "terminated" || cmd.ExitCode != 143 {
				t.Fatalf("command = %+v", cmd)
			}
			if got := read(t, res.Log); got != "started\nstopping\n" {
				t.Fatalf("partial log %q", got)
			}
		})
	}
}

func TestEnvironment_KeepsOnlySafeValues(t *testing.T) {
	vars := map[string]string{"CI": "true", "TERM": "xterm", "PATH": "/usr/bin", "LANG": "ghp_1234567890abcdefghijABCDEFGHIJ123456", "UNLISTED": "x"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	env := runner.Environment(nil, lookup)
	if got := strings.Join(env.EnvNames, ","); got != "CI,LANG,PATH,TERM" {
		t.Fatalf("names %s", got)
	}
	if len(env.EnvValues) != 2 || env.EnvValues["CI"] != "true" || env.EnvValues["TERM"] != "xterm" {
		t.Fatalf("values %v: PATH is not allow-listed and LANG looks like a secret", env.EnvValues)
	}
	if again := runner.Environment(nil, lookup); again.Fingerprint != env.Fingerprint {
		t.Fatal("the same machine gave two fingerprints")
	}
	vars["TERM"] = "dumb"
	if other := runner.Environment(nil, lookup); other.Fingerprint == env.Fingerprint {
		t.Fatal("a different environment gave the same fingerprint")
	}
}

func TestSourceState_ReadsCommitBranchAndDirt(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	if got := runner.SourceState(dir); got != nil {
		t.Fatalf("outside a git tree: %+v", got)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			errors.As(err, &ee)
			t.Fatalf("git %v: %v %s", args, err, ee.Stderr)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "trunk")
	os.WriteFile(filepath.Join(dir, "f"), []byte("1"), 0o644)
	git("add", "f")
	git("commit", "-q", "-m", "one")
	head := git("rev-parse", "HEAD")
	if got := runner.SourceState(dir); got == nil || *got != (fairway.SourceState{Commit: head, Branch: "trunk"}) {
		t.Fatalf("clean tree: %+v", got)
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("2"), 0o644)
	if got := runner.SourceState(dir); got == nil || *got != (fairway.SourceState{Commit: head, Branch: "trunk", Dirty: true}) {
		t.Fatalf("dirty tree: %+v", got)
	}
}
