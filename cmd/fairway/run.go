package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"fairway"
	"fairway/secret"
)

func init() {
	register(&command{
		name: "run", summary: "Run a command, stream its output, and record it as evidence", args: "--task KEY [--kind KIND] -- CMD [ARGS...]",
		example: `fairway run --task OPS-FIX-001 -- go test ./...
fairway run --task OPS-UAT-001 --kind smoke --tool go --tool node -- ./smoke.sh auth catalog`,
		flags: func(fs *flag.FlagSet) {
			fs.String("task", "", "task the evidence is for (required)")
			fs.String("kind", fairway.EvidenceCommandResult, "evidence kind")
			fs.String("note", "", "a line about what this run proves")
			listVar(fs, "tool", "record the version of this `TOOL` (runs TOOL version or TOOL --version; repeatable)")
		},
		run: runCommand,
	})
}

// exitStatus lets run end with the command's own exit code.
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// teeOutput copies one stream of the child to the terminal, to its own
// file, and to the combined log in arrival order.
type teeOutput struct {
	mu       *sync.Mutex
	terminal io.Writer
	own      io.Writer
	combined io.Writer
}

func (t *teeOutput) Write(p []byte) (int, error) {
	t.terminal.Write(p) // a closed terminal must not lose the record
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.own.Write(p); err != nil {
		return 0, err
	}
	if _, err := t.combined.Write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func runCommand(a *app, fs *flag.FlagSet, argv []string) error {
	if len(argv) == 0 {
		return usagef("want a command after --, e.g. fairway run --task KEY -- go test ./...")
	}
	task := getString(fs, "task")
	if err := fairway.ValidateKey("task", task); err != nil {
		return err
	}
	// What the tree and machine looked like, gathered from the start and
	// while the command runs (git can take longer than a short command).
	dir, _ := os.Getwd()
	var source *fairway.SourceState
	var env *fairway.Environment
	var facts sync.WaitGroup
	facts.Add(2)
	go func() { defer facts.Done(); source = sourceState(dir) }()
	go func() { defer facts.Done(); env = environment(getList(fs, "tool")) }()
	defer facts.Wait()
	svc, ctx, err := a.connect()
	if err != nil {
		return err
	}
	// The record must be written even when Ctrl-C ended the command.
	ctx = context.WithoutCancel(ctx)
	if _, err := svc.GetTask(ctx, task); err != nil {
		return err
	}

	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	temp := func() (*os.File, error) {
		f, err := os.CreateTemp("", "fairway-run-*")
		if err == nil {
			files = append(files, f)
		}
		return f, err
	}
	combined, err := temp()
	if err != nil {
		return err
	}
	stdoutFile, err := temp()
	if err != nil {
		return err
	}
	stderrFile, err := temp()
	if err != nil {
		return err
	}

	var mu sync.Mutex
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = a.stdin
	cmd.Stdout = &teeOutput{mu: &mu, terminal: a.stdout, own: stdoutFile, combined: combined}
	cmd.Stderr = &teeOutput{mu: &mu, terminal: a.stderr, own: stderrFile, combined: combined}
	// A background grandchild may keep the output pipes open after the
	// command exits; do not let it hold the record back.
	cmd.WaitDelay = 3 * time.Second

	// Ctrl-C and SIGTERM go to the command; Fairway waits for it to end
	// and records what it wrote.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	started := time.Now()
	if err := cmd.Start(); err != nil {
		facts.Wait()
		return fairway.FieldError("command", "cannot start %s: %v", argv[0], errText(err))
	}
	var interrupted bool
	var lastSignal os.Signal
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
wait:
	for {
		select {
		case sig := <-sigs:
			interrupted, lastSignal = true, sig
			cmd.Process.Signal(sig)
		case waitErr = <-done:
			break wait
		}
	}
	ended := time.Now()
	facts.Wait()

	code := cmd.ProcessState.ExitCode()
	rec := &fairway.Command{Argv: argv, Dir: dir, ExitCode: code, Started: started.UTC(), Ended: ended.UTC(), Interrupted: interrupted}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		rec.Signal = ws.Signal().String()
		code = 128 + int(ws.Signal())
		rec.ExitCode = code
		rec.Interrupted = true
	} else if interrupted {
		rec.Signal = lastSignal.String()
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return waitErr
	}

	for _, f := range files {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	e, err := svc.AddEvidence(ctx, fairway.EvidenceAdd{
		Task: task, Kind: getString(fs, "kind"), Filename: "command.log", MediaType: "text/plain; charset=utf-8",
		Note: getString(fs, "note"), Command: rec, Source: source, Environment: env,
	}, fairway.EvidenceParts{Content: combined, Stdout: stdoutFile, Stderr: stderrFile})
	if err != nil {
		a.printError(fmt.Errorf("the command ran but its evidence was not recorded: %w", err))
		if code == 0 {
			code = exitFailure
		}
		return exitStatus{code}
	}
	if a.json {
		enc := jsonEncoder(a.stderr)
		enc.Encode(e)
	} else {
		note := ""
		if e.Scan.Redacted {
			note = fmt.Sprintf("; %d secret(s) redacted from the record", len(e.Scan.Findings))
		}
		if rec.Interrupted {
			note += "; interrupted by " + rec.Signal
		}
		fmt.Fprintf(a.stderr, "fairway: recorded %s for %s (exit %d, %s%s)\n", e.ID, task, rec.ExitCode, ended.Sub(started).Round(time.Millisecond), note)
	}
	if code != 0 {
		return exitStatus{code}
	}
	return nil
}

// sourceState reads the commit, branch and dirty state of the git tree
// at dir with one git call.
func sourceState(dir string) *fairway.SourceState {
	cmd := exec.Command("git", "status", "--porcelain=v2", "--branch", "--untracked-files=no")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	s := &fairway.SourceState{}
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "# branch.oid "):
			s.Commit = strings.TrimPrefix(line, "# branch.oid ")
		case strings.HasPrefix(line, "# branch.head "):
			if b := strings.TrimPrefix(line, "# branch.head "); b != "(detached)" {
				s.Branch = b
			}
		case line != "" && !strings.HasPrefix(line, "#"):
			s.Dirty = true
		}
	}
	if s.Commit == "(initial)" {
		s.Commit = ""
	}
	return s
}

// envNames are the environment variables whose presence is recorded;
// envValues are those whose values are safe to keep as well.
var (
	envNames = []string{"CI", "GITHUB_ACTIONS", "GITHUB_WORKFLOW", "GITHUB_RUN_ID", "GITHUB_SHA", "GITLAB_CI", "BUILDKITE",
		"JENKINS_URL", "TERM", "SHELL", "LANG", "LC_ALL", "TZ", "GOOS", "GOARCH", "GOFLAGS", "CGO_ENABLED", "NODE_ENV",
		"PATH", "HOME", "USER", "KUBECONFIG", "AWS_PROFILE", "AWS_REGION"}
	envValues = map[string]bool{"CI": true, "GITHUB_ACTIONS": true, "GITLAB_CI": true, "TERM": true, "SHELL": true, "LANG": true,
		"LC_ALL": true, "TZ": true, "GOOS": true, "GOARCH": true, "GOFLAGS": true, "CGO_ENABLED": true, "NODE_ENV": true, "AWS_REGION": true}
)

// environment fingerprints the machine: OS, architecture, host, the
// versions of the tools asked for, and allow-listed variables.
func environment(tools []string) *fairway.Environment {
	host, _ := os.Hostname()
	env := &fairway.Environment{OS: runtime.GOOS, Arch: runtime.GOARCH, Host: host, EnvValues: map[string]string{}}
	for _, name := range envNames {
		v, ok := os.LookupEnv(name)
		if !ok {
			continue
		}
		env.EnvNames = append(env.EnvNames, name)
		if envValues[name] && !looksSecret(v) {
			env.EnvValues[name] = v
		}
	}
	sort.Strings(env.EnvNames)
	if len(tools) > 0 {
		env.Tools = map[string]string{}
		for _, tool := range tools {
			env.Tools[tool] = toolVersion(tool)
		}
	}
	body, _ := fairway.CanonicalJSON(env)
	sum := sha256.Sum256(body)
	env.Fingerprint = "sha256:" + hex.EncodeToString(sum[:])
	return env
}

func looksSecret(v string) bool {
	s := secret.NewScanner(nil)
	s.Write([]byte(v))
	s.Close()
	return len(s.Findings()) > 0
}

// toolVersion asks a tool for its version: "go version" style first, then
// "--version"; the first line is kept.
func toolVersion(tool string) string {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := exec.CommandContext(ctx, tool, args...).Output()
		cancel()
		if err == nil {
			line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			if line != "" {
				return line
			}
		}
	}
	return "unknown (" + tool + " did not report a version)"
}
