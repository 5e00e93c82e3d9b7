// Package runner runs a command the way Fairway records it as evidence:
// its output streamed to the caller and kept (interleaved and per stream),
// signals forwarded to it, and the source tree and machine it ran on
// fingerprinted. `fairway run`, session adapters and the MCP run tool
// share it.
package runner

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"fairway"
	"fairway/secret"
)

// DefaultWaitDelay is how long output pipes may stay open after the
// command exited (a background grandchild holding them) before the run
// ends anyway.
const DefaultWaitDelay = 3 * time.Second

// Spec is a command to run.
type Spec struct {
	Argv []string
	// Dir is the working directory; empty means the current one.
	Dir   string
	Stdin io.Reader
	// Stdout and Stderr receive the output as it arrives (a terminal);
	// nil discards it. A failing terminal never loses the record.
	Stdout, Stderr io.Writer
	// Signals are forwarded to the command while it runs. A cancelled
	// context sends it SIGTERM once.
	Signals <-chan os.Signal
	// Tools are the tools whose versions the environment records.
	Tools []string
	// TempDir holds the kept output; empty means os.TempDir().
	TempDir   string
	WaitDelay time.Duration
}

// Result is a finished run. Its files are rewound and removed by Close.
type Result struct {
	Command     *fairway.Command
	Source      *fairway.SourceState // nil outside a git tree
	Environment *fairway.Environment
	// Log is stdout and stderr interleaved in arrival order; Stdout and
	// Stderr hold each stream apart.
	Log, Stdout, Stderr *os.File
}

// Close removes the kept output.
func (r *Result) Close() error {
	var errs []error
	for _, f := range []*os.File{r.Log, r.Stdout, r.Stderr} {
		if f != nil {
			errs = append(errs, f.Close(), os.Remove(f.Name()))
		}
	}
	return errors.Join(errs...)
}

// ExitCode is the code a caller should exit with: the command's own, or
// 128+N when a signal N ended it.
func (r *Result) ExitCode() int { return r.Command.ExitCode }

// tee copies one stream of the child to the terminal, to its own file,
// and to the combined log in arrival order.
type tee struct {
	mu *sync.Mutex
	// termMu serialises the two streams' terminal writes: a caller may
	// give one writer for both.
	termMu   *sync.Mutex
	terminal io.Writer
	own      io.Writer
	combined io.Writer
}

func (t *tee) Write(p []byte) (int, error) {
	if t.terminal != nil {
		t.termMu.Lock()
		t.terminal.Write(p) // a closed terminal must not lose the record
		t.termMu.Unlock()
	}
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

// Run runs the command to its end and returns what it did. A command
// that cannot start is an error naming the field "command"; a command that
// fails is a Result with its exit code.
func Run(ctx context.Context, s Spec) (*Result, error) {
	if len(s.Argv) == 0 {
		return nil, fairway.FieldError("command", "is empty: name the program to run")
	}
	dir := s.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		dir = wd
	}
	// The record of a run is refused if its text cannot be stored safely,
	// and a refusal after the run would lose it: check first, and do not
	// start. The source is read before the start for that, and is the
	// tree the command started from (the command may switch branches).
	// The dir and the source are kept as read, where argv is redacted, so
	// a secret in them is refused too (R7).
	if err := (&fairway.Command{Argv: s.Argv, Dir: dir}).Check(); err != nil {
		return nil, notRun(err)
	}
	if err := refuseSecret("command.dir", dir); err != nil {
		return nil, notRun(err)
	}
	source := SourceState(dir)
	if source != nil {
		if err := source.Check(); err != nil {
			return nil, notRun(err)
		}
		if err := refuseSecret("source.branch", source.Branch); err != nil {
			return nil, notRun(err)
		}
	}
	res := &Result{Source: source}
	ok := false
	defer func() {
		if !ok {
			res.Close()
		}
	}()
	for _, f := range []**os.File{&res.Log, &res.Stdout, &res.Stderr} {
		var err error
		if *f, err = os.CreateTemp(s.TempDir, "fairway-run-*"); err != nil {
			return nil, err
		}
	}

	// What the machine looked like, gathered while the command runs (a
	// tool asked for its version can take longer than a short command).
	var facts sync.WaitGroup
	facts.Add(1)
	go func() { defer facts.Done(); res.Environment = Environment(s.Tools, nil) }()
	defer facts.Wait()

	var mu sync.Mutex
	cmd := exec.Command(s.Argv[0], s.Argv[1:]...)
	cmd.Dir = dir
	cmd.Stdin = s.Stdin
	var termMu sync.Mutex
	cmd.Stdout = &tee{mu: &mu, termMu: &termMu, terminal: s.Stdout, own: res.Stdout, combined: res.Log}
	cmd.Stderr = &tee{mu: &mu, termMu: &termMu, terminal: s.Stderr, own: res.Stderr, combined: res.Log}
	cmd.WaitDelay = s.WaitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = DefaultWaitDelay
	}

	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fairway.FieldError("command", "cannot start %s: %v", s.Argv[0], pathErrText(err))
	}
	var interrupted bool
	var lastSignal os.Signal
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ctxDone := ctx.Done()
	var waitErr error
wait:
	for {
		select {
		case sig := <-s.Signals:
			interrupted, lastSignal = true, sig
			cmd.Process.Signal(sig)
		case <-ctxDone:
			ctxDone = nil
			interrupted, lastSignal = true, syscall.SIGTERM
			cmd.Process.Signal(syscall.SIGTERM)
		case waitErr = <-done:
			break wait
		}
	}
	ended := time.Now()
	facts.Wait()

	rec := &fairway.Command{Argv: s.Argv, Dir: dir, ExitCode: cmd.ProcessState.ExitCode(), Started: started.UTC(), Ended: ended.UTC(), Interrupted: interrupted}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		rec.Signal = ws.Signal().String()
		rec.ExitCode = 128 + int(ws.Signal())
		rec.Interrupted = true
	} else if interrupted {
		rec.Signal = lastSignal.String()
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return nil, waitErr
	}
	res.Command = rec
	for _, f := range []*os.File{res.Log, res.Stdout, res.Stderr} {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	ok = true
	return res, nil
}

// refuseSecret refuses a field of a run's record that holds what looks
// like a secret, naming the rule and never the value, as the ledger
// would refuse the record.
func refuseSecret(field, v string) error {
	fs := secret.ScanText(v)
	if len(fs) == 0 {
		return nil
	}
	return fairway.FieldError(field, "holds what looks like a secret (rule %s, line %d, column %d); Fairway never stores a secret", fs[0].Rule, fs[0].Line, fs[0].Column)
}

// notRun says, in a refusal of a run's text, that nothing ran.
func notRun(err error) error {
	var fe *fairway.Error
	if !errors.As(err, &fe) {
		return err
	}
	c := *fe
	c.Message += "; the command was not run, since its record would be refused"
	return &c
}

// pathErrText drops the path prefix os errors repeat.
func pathErrText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
