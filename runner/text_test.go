package runner_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/runner"
)

// A command whose record the ledger would refuse (a terminal escape or a
// bidi override in its argv, working dir or source branch) is not run:
// refusing its evidence after it ran would lose the record of something
// that happened. The refusal names the field and says nothing ran.
func TestRun_RefusesToStartACommandWhoseRecordWouldBeRefused(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	base := t.TempDir()
	marker := filepath.Join(base, "ran")
	touch := []string{"sh", "-c", "touch " + marker}
	oddDir := filepath.Join(base, "src\u202eppa")
	if err := os.Mkdir(oddDir, 0o755); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(base, "repo")
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.email=a@example.com", "-c", "user.name=a"}, args...)...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q")
	git("commit", "-q", "--allow-empty", "-m", "first")
	git("checkout", "-q", "-b", "fix\u202etxt.exe")
	cases := []struct {
		name, field, says string
		spec              runner.Spec
	}{
		{"argv", "command.argv[3]", "ESC (U+001B)", runner.Spec{Argv: append(touch, "\x1b]0;owned\x07"), Dir: base}},
		{"dir", "command.dir", "U+202E", runner.Spec{Argv: touch, Dir: oddDir}},
		{"source branch", "source.branch", "U+202E", runner.Spec{Argv: touch, Dir: repo}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := runner.Run(context.Background(), c.spec)
			if res != nil {
				res.Close()
			}
			fe, _ := err.(*fairway.Error)
			if fe == nil || fe.Code != fairway.EINVALID || fe.Field != c.field || !strings.Contains(fe.Message, c.says) || !strings.Contains(fe.Message, "the command was not run") {
				t.Fatalf("Run = %v, want invalid %s saying %q and that the command was not run", err, c.field, c.says)
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Fatalf("the command ran (%v)", err)
			}
		})
	}
	// The same command from a clean branch runs, and its record names it.
	git("checkout", "-q", "-b", "main-2")
	res, err := runner.Run(context.Background(), runner.Spec{Argv: touch, Dir: repo})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if res.Source == nil || res.Source.Branch != "main-2" {
		t.Fatalf("source = %+v, want branch main-2", res.Source)
	}
}

// A working dir or source branch that holds a secret would be refused by
// the ledger after the command ran (R7: it is kept as sent, not redacted
// as argv is): the command is not started, and the refusal names the
// field and the rule, never the value.
func TestRun_RefusesToStartACommandWhoseDirOrBranchHoldsASecret(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	const fakeToken = "ghp_1234567890abcdefghijABCDEFGHIJ123456"
	base := t.TempDir()
	marker := filepath.Join(base, "ran")
	touch := []string{"sh", "-c", "touch " + marker}
	secretDir := filepath.Join(base, fakeToken)
	if err := os.Mkdir(secretDir, 0o755); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(base, "repo")
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q"}, {"commit", "-q", "--allow-empty", "-m", "first"}, {"checkout", "-q", "-b", "fix/" + fakeToken}} {
		cmd := exec.Command("git", append([]string{"-c", "user.email=a@example.com", "-c", "user.name=a"}, args...)...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	for _, c := range []struct {
		field string
		spec  runner.Spec
	}{
		{"command.dir", runner.Spec{Argv: touch, Dir: secretDir}},
		{"source.branch", runner.Spec{Argv: touch, Dir: repo}},
	} {
		res, err := runner.Run(context.Background(), c.spec)
		if res != nil {
			res.Close()
		}
		fe, _ := err.(*fairway.Error)
		if fe == nil || fe.Code != fairway.EINVALID || fe.Field != c.field || !strings.Contains(fe.Message, "rule github-token") || !strings.Contains(fe.Message, "the command was not run") || strings.Contains(fe.Message, fakeToken) {
			t.Fatalf("%s: Run = %v, want invalid %s naming the rule, not the value, and that the command was not run", c.field, err, c.field)
		}
		if _, err := os.Stat(marker); !os.IsNotExist(err) {
			t.Fatalf("%s: the command ran (%v)", c.field, err)
		}
	}
}

// A tool version or host name that looks like a secret is left out of
// the environment, as a secret variable's value is: the record is kept.
func TestEnvironment_LeavesOutToolVersionsThatLookSecret(t *testing.T) {
	dir := t.TempDir()
	tool := filepath.Join(dir, "leaky")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\necho leaky 1.0 token=ghp_1234567890abcdefghijABCDEFGHIJ123456\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	env := runner.Environment([]string{"leaky"}, func(string) (string, bool) { return "", false })
	if v := env.Tools["leaky"]; strings.Contains(v, "ghp_") || v == "" {
		t.Fatalf("tool version kept as %q, want it left out saying why", v)
	}
}

// The environment is read, never refused: a variable whose value a
// record could not show safely keeps its name and loses its value, and
// the fingerprint passes the ledger's check.
func TestEnvironment_LeavesOutValuesThatCannotBeShown(t *testing.T) {
	lookup := func(name string) (string, bool) {
		switch name {
		case "TERM":
			return "xterm\x1b]0;owned\x07", true
		case "LANG":
			return "C.UTF-8", true
		}
		return "", false
	}
	env := runner.Environment(nil, lookup)
	if _, kept := env.EnvValues["TERM"]; kept || env.EnvValues["LANG"] != "C.UTF-8" || strings.Join(env.EnvNames, ",") != "LANG,TERM" {
		t.Fatalf("environment = names %v values %v, want both names, LANG's value only", env.EnvNames, env.EnvValues)
	}
	if err := env.Check(); err != nil {
		t.Fatalf("the fingerprint fails the ledger's check: %v", err)
	}
}
