package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"fairway"
	"fairway/internal/fakeagent"
	"fairway/provider"
)

// Scenarios with a real agent-like subprocess (internal/fakeagent, run
// from this test binary) under `fairway session start`, on a local store
// shared with the agent's own fairway commands and hooks. Nothing here
// waits a fixed time: each step waits for the event it needs.

type scenario struct {
	t           *testing.T
	dir, agents string
}

func newScenario(t *testing.T, key string) *scenario {
	if testing.Short() {
		t.Skip("scenarios start real processes")
	}
	sc := &scenario{t: t, dir: t.TempDir(), agents: t.TempDir()}
	// One independent human review, so the gate never passes over nothing.
	policy := filepath.Join(sc.dir, "governance.yaml")
	if err := os.WriteFile(policy, []byte("version: 1\nowners: [ops]\nreview_domains:\n  ops:\n    members: [olivia]\ndefaults:\n  review_domains: [ops]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"actor", "create", "alice", "--kind", "human"},
		{"actor", "create", "olivia", "--kind", "human", "--as", "alice"},
		{"actor", "create", "codex", "--kind", "agent", "--as", "alice"},
		{"policy", "apply", policy, "--as", "alice"},
		{"task", "create", key, "--title", "capacity fix", "--as", "alice"},
	} {
		if out, err := fairwayCommand(sc.dir, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	return sc
}

// agentArgv is the command line that runs the fake agent.
func (sc *scenario) agentArgv(key, cue string, extra ...string) []string {
	self, err := os.Executable()
	if err != nil {
		sc.t.Fatal(err)
	}
	return append([]string{"env", fakeagent.EnvVar + "=1", runMainEnv + "=1", self, "--fairway", self, "--task", key,
		"--transcripts", sc.agents, "--cue", cue}, extra...)
}

// cli runs a fairway command in-process on the scenario's store.
func (sc *scenario) cli(stdin io.Reader, stdout, stderr io.Writer, as string, args ...string) int {
	env := map[string]string{"FAIRWAY_DIR": sc.dir, "FAIRWAY_ACTOR": as}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	a := &app{ctx: context.Background(), stdin: stdin, stdout: stdout, stderr: stderr, getenv: func(k string) string { return env[k] }}
	return a.run(args)
}

func (sc *scenario) mustJSON(v any, as string, args ...string) {
	sc.t.Helper()
	var out, errb bytes.Buffer
	if code := sc.cli(nil, &out, &errb, as, append(args, "--json")...); code != 0 {
		sc.t.Fatalf("%v: exit %d: %s", args, code, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), v); err != nil {
		sc.t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
}

// start runs `session start` for codex in-process until the agent ends.
func (sc *scenario) start(stdin io.Reader, stdout *syncBuffer, key, cue string, extra ...string) (stderr string, code int) {
	var errb syncBuffer
	// No stillness or idleness is observed here: real time passes as the
	// machine allows (the monitor is tested on an injected clock).
	args := append([]string{"session", "start", "--task", key, "--provider", "shell", "--stable", "1h", "--idle", "2h", "--"}, sc.agentArgv(key, cue, extra...)...)
	code = sc.cli(stdin, stdout, &errb, "codex", args...)
	return errb.String(), code
}

func (sc *scenario) sessions(key string) []*fairway.Session {
	var list []*fairway.Session
	sc.mustJSON(&list, "alice", "session", "list", "--task", key)
	for i, s := range list {
		sc.mustJSON(&list[i], "alice", "session", "show", s.ID)
	}
	return list
}

func (sc *scenario) task(key string) *fairway.Task {
	var task fairway.Task
	sc.mustJSON(&task, "alice", "task", "show", key)
	return &task
}

// waitFor polls cond until it holds; a minute without it fails the test
// (a hang, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sameObservations compares observations ending in the same one; the
// rest in any order, since the watcher reading the output and the
// agent's own hooks race.
func sameObservations(got, want []string) bool {
	if len(got) != len(want) || len(got) == 0 || got[len(got)-1] != want[len(want)-1] {
		return false
	}
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func observed(s *fairway.Session) []string {
	var out []string
	for i := len(s.Observations) - 1; i >= 0; i-- {
		o := s.Observations[i]
		if o.Source == fairway.SourceHeartbeat {
			continue
		}
		line := o.Source + ": " + o.Detail
		if o.ExitCode != nil {
			line += fmt.Sprintf(" (exit %d)", *o.ExitCode)
		}
		out = append(out, line)
	}
	return out
}

// The agent kills itself with SIGKILL mid-turn: the session is
// interrupted with the exit, the task stays open and unowned by any live
// session, the transcript is kept as context evidence, and what the
// agent reported through its hooks before it died is there.
func TestScenario_KilledAgentIsInterruptedAndNothingIsLost(t *testing.T) {
	sc := newScenario(t, "SC-1")
	var out syncBuffer
	errOut, code := sc.start(strings.NewReader("y\n"), &out, "SC-1", fakeagent.CueKill)
	if code != 137 {
		t.Fatalf("exit %d, want 137 (SIGKILL)\n%s\n%s", code, errOut, out.String())
	}
	list := sc.sessions("SC-1")
	if len(list) != 1 {
		t.Fatalf("%d sessions", len(list))
	}
	s := list[0]
	if s.State != fairway.SessionInterrupted || s.Reason != "the process exited with code 137 (killed)" {
		t.Fatalf("session %s: %s", s.State, s.Reason)
	}
	if len(s.ProviderSessions) != 1 || !strings.Contains(out.String(), "session id: "+s.ProviderSessions[0]) {
		t.Fatalf("provider sessions %v; output:\n%s", s.ProviderSessions, out.String())
	}
	id := s.ProviderSessions[0]
	want := []string{
		"output: provider session id " + id + " printed",
		"hook: claude SessionStart (startup): provider session " + id,
		"hook: claude UserPromptSubmit: a turn began",
		"process-exit: killed (exit 137)",
	}
	if got := observed(s); !sameObservations(got, want) {
		t.Fatalf("observations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if task := sc.task("SC-1"); task.Status != fairway.StatusOpen {
		t.Fatalf("task is %s", task.Status)
	}
	var ev []*fairway.Evidence
	sc.mustJSON(&ev, "alice", "evidence", "list", "SC-1")
	if len(ev) != 1 || ev[0].Kind != fairway.EvidenceContext || ev[0].Session != s.ID || !strings.Contains(ev[0].Note, "exit 137, killed") {
		t.Fatalf("evidence %+v", ev)
	}
	var content bytes.Buffer
	if code := sc.cli(nil, &content, io.Discard, "alice", "evidence", "get", ev[0].ID); code != 0 || !strings.Contains(content.String(), "session id: "+id) || !strings.Contains(content.String(), "working (6/6)") {
		t.Fatalf("transcript (exit %d):\n%s", code, content.String())
	}
}

// An agent hands off and exits; the next session, resuming the same
// agent conversation by id, is shown the handoff first, and the agent
// prints the same provider session id again.
func TestScenario_ReplacementSeesTheHandoff(t *testing.T) {
	sc := newScenario(t, "SC-2")
	var out1 syncBuffer
	if errOut, code := sc.start(strings.NewReader("y\n"), &out1, "SC-2", fakeagent.CueHandoff); code != 0 {
		t.Fatalf("first: exit %d\n%s\n%s", code, errOut, out1.String())
	}
	first := sc.sessions("SC-2")[0]
	if first.State != fairway.SessionDetached || first.Reason != "detached by codex" || len(first.ProviderSessions) != 1 {
		t.Fatalf("first session %s (%s) %v", first.State, first.Reason, first.ProviderSessions)
	}
	agentID := first.ProviderSessions[0]
	var out2 syncBuffer
	errOut, code := sc.start(strings.NewReader("y\n"), &out2, "SC-2", fakeagent.CueFinish, "--resume", agentID)
	if code != 0 {
		t.Fatalf("second: exit %d\n%s\n%s", code, errOut, out2.String())
	}
	wantHandoff := "fairway: handoff from " + first.ID + " (codex, shell, "
	if !strings.HasPrefix(errOut, wantHandoff) || !strings.Contains(errOut, "schema migrated; next: run the smoke suite (agent session "+agentID+")") {
		t.Fatalf("second session's start:\n%s", errOut)
	}
	if !strings.Contains(strings.ReplaceAll(out2.String(), "\r", ""), "resumed 2 messages\nsession id: "+agentID) {
		t.Fatalf("agent did not resume:\n%s", out2.String())
	}
	list := sc.sessions("SC-2")
	second := list[1]
	if second.State != fairway.SessionDetached || second.Reason != "the process exited 0" || second.Generation != 2 ||
		strings.Join(second.ProviderSessions, ",") != agentID {
		t.Fatalf("second session %s (%s) gen %d %v", second.State, second.Reason, second.Generation, second.ProviderSessions)
	}
	want := []string{
		"output: provider session id " + agentID + " printed",
		"hook: claude SessionStart (resume): provider session " + agentID,
		"hook: claude UserPromptSubmit: a turn began",
		"hook: claude Stop: the turn ended; waiting for the user",
		"hook: claude Notification: waiting for the user: Claude is waiting for your input",
		"hook: claude SessionEnd: the agent stopped (prompt_input_exit)",
		"process-exit:  (exit 0)",
	}
	if got := observed(second); !sameObservations(got, want) {
		t.Fatalf("observations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A session is replaced while its agent still runs: the zombie agent's
// claim is refused by the fence, the watcher stops writing through the
// replaced session, and its transcript and exit are still kept.
func TestScenario_ZombieWriteIsRefused(t *testing.T) {
	sc := newScenario(t, "SC-3")
	stdinR, stdinW := io.Pipe()
	var out syncBuffer
	type result struct {
		errOut string
		code   int
	}
	done := make(chan result, 1)
	go func() {
		errOut, code := sc.start(stdinR, &out, "SC-3", fakeagent.CueZombie)
		done <- result{errOut, code}
	}()
	io.WriteString(stdinW, "y\n")
	waitFor(t, "the agent to wait", func() bool { return strings.Contains(out.String(), "waiting> ") })
	zombie := sc.sessions("SC-3")[0]
	// Someone else who learnt the session's id (it is no secret) creates
	// the file a transcript would once have been kept in, to read it.
	planted := filepath.Join(os.TempDir(), "fairway-transcript-"+zombie.ID+".log")
	if err := os.WriteFile(planted, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(planted)
	var att fairway.AttachedSession
	sc.mustJSON(&att, "codex", "session", "attach", "--task", "SC-3", "--provider", "claude", "--replace", zombie.ID)
	io.WriteString(stdinW, "go\n")
	r := <-done
	stdinW.Close()
	if r.code != exitForbidden || !strings.Contains(out.String(), "is replaced") || !strings.Contains(out.String(), "claim exited 5") {
		t.Fatalf("zombie: exit %d\n%s\n%s", r.code, r.errOut, out.String())
	}
	var claims []*fairway.Claim
	sc.mustJSON(&claims, "alice", "claim", "list", "SC-3")
	if len(claims) != 0 {
		t.Fatalf("the zombie's claim was recorded: %+v", claims)
	}
	list := sc.sessions("SC-3")
	z := list[0]
	if z.State != fairway.SessionReplaced || z.ReplacedBy != att.Session.ID || list[1].State != fairway.SessionAttached {
		t.Fatalf("zombie %s by %s; replacement %s", z.State, z.ReplacedBy, list[1].State)
	}
	if got := observed(z); got[len(got)-1] != "process-exit:  (exit 5)" {
		t.Fatalf("zombie's exit not kept: %q", got)
	}
	// The task is the replacement's now: the zombie's transcript is not
	// written into it, and is kept in a file the error names.
	var ev []*fairway.Evidence
	sc.mustJSON(&ev, "alice", "evidence", "list", "SC-3")
	_, kept, _ := strings.Cut(r.errOut, "it is kept in ")
	kept, _, _ = strings.Cut(kept, "\n")
	defer os.Remove(kept)
	b, _ := os.ReadFile(kept)
	if len(ev) != 0 || !strings.Contains(r.errOut, "the transcript was not recorded: task SC-3 is held by session "+att.Session.ID) ||
		!strings.HasPrefix(kept, filepath.Join(os.TempDir(), "fairway-transcript-"+z.ID+"-")) || !strings.Contains(string(b), "claim exited 5") {
		t.Fatalf("transcript: evidence %+v\n%s\nkept: %q", ev, r.errOut, b)
	}
	if info, err := os.Stat(kept); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("kept file: %v %v", info, err)
	}
	if b, _ := os.ReadFile(planted); len(b) != 0 {
		t.Fatalf("the transcript went into a file someone else created: %q", b)
	}
}

// Fairway's watcher dies mid-run (kill -9) and its agent with it: after
// the restart, reconciliation cannot confirm the session and interrupts
// it with the reason; the task stays open.
func TestScenario_RestartMidRunIsReconciled(t *testing.T) {
	sc := newScenario(t, "SC-4")
	cmd := fairwayCommand(sc.dir, append([]string{"session", "start", "--task", "SC-4", "--provider", "shell", "--"}, sc.agentArgv("SC-4", fakeagent.CueHang)...)...)
	cmd.Env = append(cmd.Env, "FAIRWAY_ACTOR=codex")
	cmd.Stdin = strings.NewReader("y\n")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var s *fairway.Session
	waitFor(t, "the session to attach", func() bool {
		list := sc.sessions("SC-4")
		if len(list) == 1 && len(list[0].ProviderSessions) == 1 {
			s = list[0]
		}
		return s != nil
	})
	// Nothing is interrupted while the agent lives.
	var none []*fairway.Session
	sc.mustJSON(&none, "alice", "session", "reconcile")
	if len(none) != 0 {
		t.Fatalf("a live session was interrupted: %+v", none[0])
	}
	cmd.Process.Kill()
	cmd.Wait()
	// Its terminal gone, the agent is hung up.
	waitFor(t, "the agent to end", func() bool { ok, _ := provider.ProcessAlive(s.PID, s.PIDStart); return !ok })
	var interrupted []*fairway.Session
	sc.mustJSON(&interrupted, "alice", "session", "reconcile")
	// Orphaned, the agent is gone, or a zombie if nothing reaps it here.
	want := fmt.Sprintf("not confirmed alive after a restart: pid %d is gone", s.PID)
	if len(interrupted) == 1 && strings.HasSuffix(interrupted[0].Reason, "exited (a zombie waiting to be reaped)") {
		want = fmt.Sprintf("not confirmed alive after a restart: pid %d exited (a zombie waiting to be reaped)", s.PID)
	}
	if len(interrupted) != 1 || interrupted[0].ID != s.ID || interrupted[0].Reason != want {
		t.Fatalf("reconcile: %+v", interrupted[0])
	}
	got := sc.sessions("SC-4")[0]
	if got.State != fairway.SessionInterrupted || got.Reason != want {
		t.Fatalf("session %s: %s", got.State, got.Reason)
	}
	if task := sc.task("SC-4"); task.Status != fairway.StatusOpen {
		t.Fatalf("task is %s", task.Status)
	}
	syscall.Kill(s.PID, syscall.SIGKILL)
}

// The agent runs the tests (they fail) and then says "done, all tests
// pass": the claim is recorded as a claim, the failing run as evidence,
// and the task cannot close: the gate is not satisfied by a claim.
func TestScenario_FalseDoneClaimLeavesTheTaskOpen(t *testing.T) {
	sc := newScenario(t, "SC-5")
	var out syncBuffer
	if errOut, code := sc.start(strings.NewReader("y\n"), &out, "SC-5", fakeagent.CueFalseDone); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, errOut, out.String())
	}
	if !strings.Contains(out.String(), "tests exited 1") || !strings.Contains(out.String(), "Done! All tests pass.") {
		t.Fatalf("agent output:\n%s", out.String())
	}
	s := sc.sessions("SC-5")[0]
	var claims []*fairway.Claim
	sc.mustJSON(&claims, "alice", "claim", "list", "SC-5")
	if len(claims) != 1 || claims[0].Text != "done: all tests pass" || claims[0].Session != s.ID {
		t.Fatalf("claims %+v", claims)
	}
	var ev []*fairway.Evidence
	sc.mustJSON(&ev, "alice", "evidence", "list", "SC-5")
	var failing string
	for _, e := range ev {
		if e.Kind == fairway.EvidenceCommandResult {
			failing = e.ID
		}
	}
	var errb bytes.Buffer
	if code := sc.cli(nil, io.Discard, &errb, "alice", "task", "close", "SC-5"); code != exitGateFailed {
		t.Fatalf("close: exit %d, want %d (gate failed)\n%s", code, exitGateFailed, errb.String())
	}
	var explain bytes.Buffer
	sc.cli(nil, &explain, io.Discard, "alice", "gate", "explain", "SC-5")
	if !strings.Contains(explain.String(), "Gate for SC-5: FAIL") || !strings.Contains(explain.String(), "FAILING        command-result "+failing+" — exited 1") {
		t.Fatalf("gate explain:\n%s", explain.String())
	}
	if task := sc.task("SC-5"); task.Status == fairway.StatusDone {
		t.Fatal("the task closed on a claim")
	}
	kinds := map[string]int{}
	for _, e := range ev {
		kinds[e.Kind]++
		if e.Kind == fairway.EvidenceCommandResult && (e.Command == nil || e.Command.ExitCode != 1) {
			t.Fatalf("the failing run: %+v", e.Command)
		}
	}
	if kinds[fairway.EvidenceCommandResult] != 1 || kinds[fairway.EvidenceContext] != 1 || len(ev) != 2 {
		t.Fatalf("evidence kinds %v", kinds)
	}
}

// fairway serve reconciles at start: a session whose process is gone is
// interrupted with the reason before the first request; one whose
// process is alive is left attached.
func TestScenario_ServeReconcilesAtStart(t *testing.T) {
	sc := newScenario(t, "SC-7")
	if out, err := fairwayCommand(sc.dir, "task", "create", "SC-8", "--title", "second").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	gone := fairwayCommand(sc.dir, "help")
	gone.Stdout = io.Discard
	if err := gone.Start(); err != nil {
		t.Fatal(err)
	}
	goneStart, err := provider.ProcessStart(gone.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	gone.Wait()
	selfStart, err := provider.ProcessStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	var dead, alive fairway.AttachedSession
	sc.mustJSON(&dead, "codex", "session", "attach", "--task", "SC-7", "--provider", "shell", "--pid", fmt.Sprint(gone.Process.Pid), "--pid-start", goneStart)
	sc.mustJSON(&alive, "codex", "session", "attach", "--task", "SC-8", "--provider", "shell", "--pid", fmt.Sprint(os.Getpid()), "--pid-start", selfStart)

	srv := fairwayCommand(sc.dir, "serve", "--addr", "127.0.0.1:0")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stderr = io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	line := make([]byte, 200)
	n, _ := stdout.Read(line)
	if !strings.HasPrefix(string(line[:n]), "Fairway is serving http://") {
		t.Fatalf("serve printed %q", line[:n])
	}
	d := sc.sessions("SC-7")[0]
	want := fmt.Sprintf("not confirmed alive after a restart: pid %d is gone", gone.Process.Pid)
	if d.State != fairway.SessionInterrupted || d.Reason != want {
		t.Fatalf("dead session %s: %s", d.State, d.Reason)
	}
	if a := sc.sessions("SC-8")[0]; a.State != fairway.SessionAttached {
		t.Fatalf("live session %s: %s", a.State, a.Reason)
	}
}
