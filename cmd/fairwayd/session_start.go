package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"fairway"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/provider"
)

// startOptions are the flags of `fairway session start`.
type startOptions struct {
	task, provider, socket string
	lease, stable, idle    time.Duration
}

// startPoll is how often session start reads the clock to look for
// stillness, idleness and a heartbeat due. What it decides is measured on
// the ledger's clock, which tests inject.
var startPoll = time.Second

// maxTranscript bounds the transcript kept as context evidence: beyond
// it the newest output is dropped and the record says so.
const maxTranscript = 16 << 20

// gateScript holds the launched command until Fairway has attached its
// session: it reads the session id and credential from a private FIFO,
// exports them, and execs the command in the same process, so the pid
// and start time recorded at attach are the command's own. A command
// whose attach was refused never runs.
const gateScript = `f=$1; shift; IFS=' ' read -r FAIRWAY_SESSION FAIRWAY_SESSION_TOKEN < "$f" || exit 125; rm -f "$f"; [ -n "$FAIRWAY_SESSION_TOKEN" ] || exit 125; export FAIRWAY_SESSION FAIRWAY_SESSION_TOKEN; exec "$@"`

func init() {
	register(&command{
		name: "session start", summary: "Attach a session and run its command: under tmux or on a pseudo-terminal, watched, heartbeated, its transcript kept",
		args: "--task KEY --provider shell|tmux [--lease D] -- CMD [ARGS...]",
		example: `fairway session start --task OPS-FIX-001 --provider shell --as codex-1 -- codex
fairway session start --task OPS-FIX-001 --provider tmux --lease 2m --as claude-1 -- claude
fairway session attach-terminal ses-0123456789abcdef   # look at and type into a tmux session`,
		setup: func(fs *flag.FlagSet) runFunc {
			var o startOptions
			fs.StringVar(&o.task, "task", "", "the task the session works on (required)")
			fs.StringVar(&o.provider, "provider", "shell", "shell (a child on a pseudo-terminal) or tmux (a pane on Fairway's own tmux socket)")
			fs.StringVar(&o.socket, "tmux-socket", "fairway", "Fairway's tmux socket name (must start with \"fairway\"; never the default socket)")
			fs.DurationVar(&o.lease, "lease", fairway.DefaultLeaseTTL, "lease length; Fairway heartbeats every third of it while the command runs")
			fs.DurationVar(&o.stable, "stable", 5*time.Second, "output unchanged this long is observed: waiting at a prompt, asked for input, or still")
			fs.DurationVar(&o.idle, "idle", 2*time.Minute, "no output this long is observed as idle")
			return func(a *app, argv []string) error { return sessionStart(a, argv, o) }
		},
	})
	register(&command{
		name: "session attach-terminal", summary: "Attach this terminal to a live tmux session's pane, to look at it and type into it", args: "ID",
		example: `fairway session attach-terminal ses-0123456789abcdef   # detach again with Ctrl-b d`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "ID")
			if err != nil {
				return err
			}
			s, err := svc.GetSession(ctx, pos[0])
			if err != nil {
				return err
			}
			argv, err := attachTerminalArgs(s)
			if err != nil {
				return err
			}
			path, err := exec.LookPath("tmux")
			if err != nil {
				return fairway.Errorf(fairway.ENOTFOUND, "tmux is not installed here: %v", err)
			}
			if a.closer != nil {
				a.closer()
				a.closer = nil
			}
			return syscall.Exec(path, argv, os.Environ())
		}),
	})
	register(&command{
		name: "session reconcile", summary: "Interrupt every attached session whose process or tmux pane cannot be confirmed alive, with the reason", args: "",
		example: `fairway session reconcile
fairway session reconcile --json`,
		setup: noFlags(func(a *app, pos []string) error {
			if err := wantArgs(pos, 0, "no arguments"); err != nil {
				return err
			}
			if a.remote() {
				return usagef("session reconcile runs where the sessions' processes are: on the server's host, where `fairway serve` also runs it at start; it is not an API call")
			}
			svc, ctx, err := a.connect()
			if err != nil {
				return err
			}
			l, ok := svc.(*ledger.Ledger)
			if !ok {
				return usagef("session reconcile needs the local store")
			}
			out, err := l.Reconcile(ctx, provider.Liveness)
			if err != nil {
				return err
			}
			if out == nil {
				out = []*fairway.Session{}
			}
			return a.output(out, func(w io.Writer) {
				if len(out) == 0 {
					fmt.Fprintln(w, "every attached session is confirmed alive; nothing interrupted")
				}
				for _, s := range out {
					fmt.Fprintf(w, "interrupted %s on %s: %s\n", s.ID, s.Task, oneLine(s.Reason))
				}
			})
		}),
	})
}

// attachTerminalArgs is the tmux command attaching a terminal to a
// session's pane, refused for a session that has no pane on Fairway's
// socket or has ended.
func attachTerminalArgs(s *fairway.Session) ([]string, error) {
	if s.TmuxPane == "" || s.TmuxSocket == "" {
		return nil, fairway.Errorf(fairway.ECONFLICT, "session %s (provider %s) has no tmux pane to attach to: only a session started with `fairway session start --provider tmux` has one", s.ID, oneLine(s.Provider))
	}
	if s.State != fairway.SessionAttached {
		return nil, fairway.Errorf(fairway.ECONFLICT, "session %s is %s (%s): its pane is not live; see `fairway session show %s`", s.ID, s.State, oneLine(s.Reason), s.ID)
	}
	t, err := provider.NewTmux(s.TmuxSocket)
	if err != nil {
		return nil, fairway.Errorf(fairway.EFORBIDDEN, "%v", err)
	}
	return t.AttachArgs(s.TmuxPane), nil
}

// launched is a started command as session start watches it: its output
// as it comes, how it ended, and a way to end it.
type launched struct {
	pid        int
	pidStart   string
	pane, name string
	tmux       *provider.Tmux
	out        chan []byte
	done       chan provider.Exit
	kill       func()
	stop       func()
}

func sessionStart(a *app, argv []string, o startOptions) error {
	if len(argv) == 0 {
		return usagef("want a command after --, e.g. fairway session start --task KEY --provider shell -- codex")
	}
	if o.provider != "shell" && o.provider != "tmux" {
		return fairway.FieldError("provider", "%q: session start runs shell (a pseudo-terminal) or tmux; for another provider, attach with `fairway session attach`", oneLine(o.provider))
	}
	if err := fairway.ValidateKey("task", o.task); err != nil {
		return err
	}
	if o.lease < fairway.MinLeaseTTL || o.lease > fairway.MaxLeaseTTL {
		return fairway.FieldError("lease", "must be between %s and %s", fairway.MinLeaseTTL, fairway.MaxLeaseTTL)
	}
	if o.stable <= 0 || o.idle <= o.stable {
		return fairway.FieldError("idle", "must be longer than --stable (%s), and --stable positive", o.stable)
	}
	var tm *provider.Tmux
	if o.provider == "tmux" {
		var err error
		if tm, err = provider.NewTmux(o.socket); err != nil {
			return fairway.FieldError("tmux-socket", "%v", err)
		}
		if _, err := exec.LookPath("tmux"); err != nil {
			return fairway.Errorf(fairway.ENOTFOUND, "tmux is not installed here: use --provider shell, or install tmux")
		}
	}
	svc, ctx, err := a.connect()
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	// Everything that would refuse the attach is checked before anything
	// runs: who is acting, and the task.
	if _, err := svc.Whoami(ctx); err != nil {
		return err
	}
	if _, err := svc.GetTask(ctx, o.task); err != nil {
		return err
	}
	dir, err := a.workDir()
	if err != nil {
		return err
	}
	gateDir, err := os.MkdirTemp("", "fairway-start-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(gateDir)
	fifo := filepath.Join(gateDir, "gate")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return err
	}
	env, err := a.childEnv()
	if err != nil {
		return err
	}
	cmdline := append([]string{"sh", "-c", gateScript, "fairway-gate", fifo}, argv...)
	var p *launched
	if tm != nil {
		p, err = startTmux(a.ctx, tm, dir, cmdline, env, filepath.Join(gateDir, "transcript"))
	} else {
		p, err = startPTY(a, dir, cmdline, env)
	}
	if err != nil {
		return fmt.Errorf("starting %s: %w", oneLine(argv[0]), err)
	}
	host, _ := os.Hostname()
	in := fairway.SessionAttach{Task: o.task, Provider: o.provider, Host: host, PID: p.pid, PIDStart: p.pidStart, Dir: dir, BaseCommit: gitHead(dir), LeaseTTL: o.lease}
	if tm != nil {
		in.TmuxSocket, in.TmuxPane = tm.Socket, p.pane
	}
	att, err := svc.AttachSession(ctx, in)
	if err != nil {
		p.kill()
		p.stop()
		return err
	}
	s := att.Session
	if h := att.Handoff; h != nil {
		fmt.Fprintf(a.stderr, "fairway: handoff from %s (%s, %s, %s):\n  %s\n", h.Session, h.Actor, h.Provider, fmtTime(h.At), indent(h.Summary))
	}
	fmt.Fprintf(a.stderr, "fairway: attached %s to %s (generation %d, pid %d", s.ID, s.Task, s.Generation, p.pid)
	if tm != nil {
		fmt.Fprintf(a.stderr, ", tmux pane %s: fairway session attach-terminal %s", p.pane, s.ID)
	}
	fmt.Fprintln(a.stderr, ")")
	ssvc, sctx, err := a.throughSession(svc, ctx, att.Token)
	if err != nil {
		p.kill()
		p.stop()
		return err
	}
	// Release the gate: the command starts, knowing its session.
	if err := writeGate(fifo, s.ID+" "+att.Token+"\n"); err != nil {
		p.kill()
		p.stop()
		return fmt.Errorf("releasing the command: %w", err)
	}
	w := &sessionWatch{a: a, svc: ssvc, ctx: sctx, actorSvc: svc, actorCtx: ctx, s: s, o: o,
		mon: provider.NewMonitor(a.clock(), o.stable, o.idle), lastBeat: a.clock()}
	return w.run(p)
}

// childEnv is the environment of the started command: this one, without
// the caller's own credential (the command acts through its session's),
// and with the way to reach the ledger its hooks need.
func (a *app) childEnv() ([]string, error) {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "FAIRWAY_TOKEN", "FAIRWAY_SESSION", "FAIRWAY_SESSION_TOKEN", "FAIRWAY_DIR", "FAIRWAY_SERVER", "FAIRWAY_STORE":
			continue
		}
		env = append(env, kv)
	}
	if a.remote() {
		return append(env, "FAIRWAY_SERVER="+firstNonEmpty(a.server, a.getenv("FAIRWAY_SERVER"))), nil
	}
	dir, err := filepath.Abs(a.abs(a.storeDir()))
	if err != nil {
		return nil, err
	}
	return append(env, "FAIRWAY_DIR="+dir), nil
}

// throughSession is the service and context that act with a session's
// credential, so every write of the watch is fenced on its generation.
func (a *app) throughSession(svc fairway.Service, ctx context.Context, token string) (fairway.Service, context.Context, error) {
	if l, ok := svc.(*ledger.Ledger); ok {
		actor, auth, err := l.AuthenticateSession(ctx, token)
		if err != nil {
			return nil, nil, err
		}
		return l, fairway.NewContextWithAuth(fairway.NewContextWithActor(ctx, actor), auth), nil
	}
	return fairwayhttp.NewClient(firstNonEmpty(a.server, a.getenv("FAIRWAY_SERVER")), token), ctx, nil
}

func writeGate(fifo, line string) error {
	// Opening a FIFO for writing waits for its reader, the gate script.
	done := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		_, err = f.WriteString(line)
		done <- errors.Join(err, f.Close())
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("the command's shell never read its session (is sh installed?)")
	}
}

// gitHead is the commit checked out in dir, or "" outside a repository.
func gitHead(dir string) string {
	cmd := exec.Command("git", "rev-parse", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func startPTY(a *app, dir string, argv, env []string) (*launched, error) {
	proc, f, err := provider.StartPTY(argv, dir, env, 40, 120)
	if err != nil {
		return nil, err
	}
	p := &launched{pid: proc.PID, pidStart: proc.Start, out: make(chan []byte, 64), done: make(chan provider.Exit, 1)}
	p.kill = func() { proc.Kill() }
	restore := rawTerminal(a.stdin, f)
	p.stop = sync.OnceFunc(func() { restore(); f.Close() })
	go func() {
		defer close(p.out)
		for {
			buf := make([]byte, 32<<10)
			n, err := provider.ReadPTY(f, buf)
			if n > 0 {
				p.out <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		exit, err := proc.Wait()
		if err != nil {
			exit = provider.Exit{Code: -1, Signal: err.Error()}
		}
		p.done <- exit
	}()
	if a.stdin != nil {
		go io.Copy(f, a.stdin)
	}
	return p, nil
}

func startTmux(ctx context.Context, tm *provider.Tmux, dir string, argv, env []string, transcript string) (*launched, error) {
	name := "fairway-" + strings.TrimPrefix(filepath.Base(filepath.Dir(transcript)), "fairway-start-")
	var extra []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "FAIRWAY_") {
			extra = append(extra, kv)
		}
	}
	pane, pid, err := tm.Start(ctx, name, dir, argv, extra...)
	if err != nil {
		return nil, err
	}
	p := &launched{pid: pid, pane: pane, name: name, tmux: tm, out: make(chan []byte, 64), done: make(chan provider.Exit, 1)}
	p.kill = func() { tm.KillSession(context.Background(), name) }
	stop := make(chan struct{})
	stopped := make(chan struct{})
	p.stop = sync.OnceFunc(func() {
		close(stop)
		<-stopped
		tm.KillSession(context.Background(), name)
	})
	if p.pidStart, err = provider.ProcessStart(pid); err != nil {
		p.kill()
		close(stopped)
		return nil, err
	}
	if err := os.WriteFile(transcript, nil, 0o600); err != nil {
		p.kill()
		close(stopped)
		return nil, err
	}
	if err := tm.Keep(ctx, pane, transcript); err != nil {
		p.kill()
		close(stopped)
		return nil, err
	}
	go func() {
		defer close(stopped)
		defer close(p.out)
		f, err := os.Open(transcript)
		if err != nil {
			return
		}
		defer f.Close()
		t := time.NewTicker(startPoll / 4)
		defer t.Stop()
		for {
			ended := false
			select {
			case <-stop:
				ended = true
			case <-t.C:
			}
			for {
				b, _ := io.ReadAll(f)
				if len(b) == 0 {
					break
				}
				p.out <- b
			}
			if ended {
				return
			}
		}
	}()
	go func() {
		t := time.NewTicker(startPoll / 4)
		defer t.Stop()
		unknown := 0
		for range t.C {
			ended, exit, _ := tm.PaneExit(context.Background(), pane)
			// How the process ended may take tmux a moment to read.
			if ended && exit.Signal == provider.ExitUnknown && unknown < 40 {
				unknown++
				continue
			}
			if ended {
				p.done <- exit
				return
			}
		}
	}()
	return p, nil
}

// sessionWatch follows a started command for its session: shows its
// output live, keeps the transcript, heartbeats, and records what it
// sees as observations.
type sessionWatch struct {
	a             *app
	svc, actorSvc fairway.Service
	ctx, actorCtx context.Context
	s             *fairway.Session
	o             startOptions
	mon           *provider.Monitor
	lastBeat      time.Time
	transcript    bytes.Buffer
	truncated     bool
	fenced        error
}

func (w *sessionWatch) run(p *launched) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	tick := time.NewTicker(startPoll)
	defer tick.Stop()
	out := p.out
	var exit provider.Exit
loop:
	for {
		select {
		case b, ok := <-out:
			if !ok {
				out = nil
				continue
			}
			w.output(b)
		case exit = <-p.done:
			break loop
		case sig := <-sigs:
			// The command decides what an interrupt means; Fairway waits
			// for it to end and records what it wrote.
			syscall.Kill(-p.pid, sig.(syscall.Signal))
		case <-tick.C:
			now := w.a.clock()
			for _, seen := range w.mon.Tick(now) {
				w.observe(seen)
			}
			if now.Sub(w.lastBeat) >= w.o.lease/3 {
				w.lastBeat = now
				if _, err := w.svc.HeartbeatSession(w.ctx, w.s.ID); err != nil {
					w.refused(err)
				}
			}
		}
	}
	// What the command wrote before it ended is still on its way.
	if out != nil {
		grace := time.AfterFunc(300*time.Millisecond, p.stop)
		for b := range out {
			w.output(b)
		}
		grace.Stop()
	}
	p.stop()
	return w.finish(exit)
}

func (w *sessionWatch) output(b []byte) {
	w.a.stdout.Write(b)
	if w.transcript.Len()+len(b) > maxTranscript {
		w.truncated = true
	} else {
		w.transcript.Write(b)
	}
	for _, seen := range w.mon.Write(w.a.clock(), b) {
		w.observe(seen)
	}
}

func (w *sessionWatch) observe(seen provider.Seen) {
	if w.fenced != nil {
		return
	}
	_, err := w.svc.ObserveSession(w.ctx, fairway.SessionObserve{Session: w.s.ID, Source: seen.Source, Detail: seen.Detail, ProviderSession: seen.ProviderSession})
	if err != nil {
		w.refused(err)
	}
}

// refused reports a write the ledger refused. A fenced session (replaced,
// expired, ended) writes nothing more; the command is left to end.
func (w *sessionWatch) refused(err error) {
	if fairway.ErrorCode(err) == fairway.EFORBIDDEN || fairway.ErrorCode(err) == fairway.EUNAUTHORIZED {
		if w.fenced == nil {
			w.fenced = err
			fmt.Fprintf(w.a.stderr, "\r\nfairway: %s\r\nfairway: the command keeps running; nothing more is recorded through session %s\r\n", visible(fairway.ErrorMessage(err), false), w.s.ID)
		}
		return
	}
	fmt.Fprintf(w.a.stderr, "\r\nfairway: recording for session %s failed: %s\r\n", w.s.ID, visible(err.Error(), false))
}

// finish keeps the transcript as context evidence and records how the
// command ended, which ends the session: detached after exit 0,
// interrupted otherwise. After the session was fenced both are written
// as its actor instead, so nothing it saw is lost.
func (w *sessionWatch) finish(exit provider.Exit) error {
	// A write the fence refuses (the session was replaced, expired, or
	// the command detached it itself) is made as the session's actor.
	write := func(f func(fairway.Service, context.Context) error) error {
		if w.fenced == nil {
			err := f(w.svc, w.ctx)
			if c := fairway.ErrorCode(err); c != fairway.EFORBIDDEN && c != fairway.EUNAUTHORIZED {
				return err
			}
		}
		return f(w.actorSvc, w.actorCtx)
	}
	how := fmt.Sprintf("exit %d", exit.Code)
	if exit.Signal != "" {
		how += ", " + exit.Signal
	}
	note := fmt.Sprintf("terminal transcript of session %s (%s, %s): context, never proof", w.s.ID, w.o.provider, how)
	if w.truncated {
		note += fmt.Sprintf("; only its first %d bytes are kept", maxTranscript)
	}
	var failures []error
	var e *fairway.Evidence
	err := write(func(svc fairway.Service, ctx context.Context) (err error) {
		e, err = svc.AddEvidence(ctx, fairway.EvidenceAdd{Task: w.s.Task, Kind: fairway.EvidenceContext, Filename: "transcript.log",
			MediaType: "text/plain; charset=utf-8", Note: note}, fairway.EvidenceParts{Content: bytes.NewReader(w.transcript.Bytes())})
		return err
	})
	if err != nil {
		// Kept where the user can read it, so nothing seen is lost: in a
		// new file of its own (the session id is no secret, so a name
		// made of it alone could be created first by someone else).
		if f, werr := os.CreateTemp("", "fairway-transcript-"+w.s.ID+"-*.log"); werr == nil {
			_, werr = f.Write(w.transcript.Bytes())
			if cerr := f.Close(); werr == nil && cerr == nil {
				err = fmt.Errorf("%w; it is kept in %s", err, f.Name())
			}
		}
		failures = append(failures, fmt.Errorf("the transcript was not recorded: %w", err))
	}
	code := exit.Code
	detail := exit.Signal
	if err := write(func(svc fairway.Service, ctx context.Context) error {
		_, err := svc.ObserveSession(ctx, fairway.SessionObserve{Session: w.s.ID, Source: fairway.SourceProcessExit, ExitCode: &code, Detail: detail})
		return err
	}); err != nil {
		failures = append(failures, fmt.Errorf("the exit was not recorded: %w", err))
	}
	if e != nil {
		fmt.Fprintf(w.a.stderr, "\r\nfairway: %s ended (%s); transcript recorded as %s (context evidence)\r\n", w.s.ID, how, e.ID)
	}
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintf(w.a.stderr, "fairway: %s\n", visible(f.Error(), false))
		}
		return exitStatus{max(code, exitFailure)}
	}
	if code != 0 {
		return exitStatus{code}
	}
	return nil
}
