package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"fairway"
	"fairway/internal/fakeagent"
	"fairway/provider"
)

// session start refuses what it cannot run before anything starts: a
// tmux socket that is not Fairway's own (the user's default above all),
// a provider it does not run, no command. Nothing is attached.
func TestSessionStart_RefusesBeforeStarting(t *testing.T) {
	e := newCLIEnv(t, true)
	if _, errOut, code := e.runWith(nil, "alice", "task", "create", "G-1", "--title", "guards"); code != 0 {
		t.Fatal(errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--provider", "tmux", "--tmux-socket", "default", "--", "true"}, `tmux-socket: tmux socket "default" is not one of Fairway's own`},
		{[]string{"--provider", "tmux", "--tmux-socket", "../fairway", "--", "true"}, "is not one of Fairway's own"},
		{[]string{"--provider", "codex", "--", "true"}, `provider: "codex": session start runs shell`},
		{[]string{"--provider", "shell"}, "want a command after --"},
		{[]string{"--provider", "shell", "--lease", "1s", "--", "true"}, "lease: must be between"},
		{[]string{"--provider", "shell", "--stable", "1m", "--idle", "30s", "--", "true"}, "idle: must be longer than --stable"},
	} {
		_, errOut, code := e.runWith(nil, "codex", append([]string{"session", "start", "--task", "G-1"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d %s", tc.args, code, errOut)
		}
	}
	out, _, _ := e.runWith(nil, "alice", "session", "list", "--task", "G-1", "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Fatalf("a refused start attached a session: %s", out)
	}
	// A refused attach (the task is held) means the command never runs:
	// it waits behind the gate until attached, and is killed instead.
	if _, errOut, code := e.runWith(nil, "codex", "session", "attach", "--task", "G-1", "--provider", "codex"); code != 0 {
		t.Fatal(errOut)
	}
	marker := t.TempDir() + "/ran"
	_, errOut, code := e.runWith(nil, "codex", "session", "start", "--task", "G-1", "--provider", "shell", "--", "touch", marker)
	if code != exitConflict || !strings.Contains(errOut, "G-1") {
		t.Fatalf("start on a held task: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran although its session was refused")
	}
}

// attach-terminal attaches only to a live session's pane on Fairway's
// own socket, and says why not otherwise.
func TestSessionAttachTerminal_OnlyALiveFairwayPane(t *testing.T) {
	e := newCLIEnv(t, true)
	e.runWith(nil, "alice", "task", "create", "G-2", "--title", "panes", "--label", "max-sessions/3")
	attach := func(args ...string) *fairway.Session {
		t.Helper()
		out, errOut, code := e.runWith(nil, "codex", append([]string{"session", "attach", "--task", "G-2", "--json"}, args...)...)
		if code != 0 {
			t.Fatal(errOut)
		}
		var att fairway.AttachedSession
		json.Unmarshal([]byte(out), &att)
		return att.Session
	}
	plain := attach("--provider", "codex")
	ended := attach("--provider", "tmux", "--tmux-socket", "fairway-x", "--tmux-pane", "%3")
	e.runWith(nil, "codex", "session", "detach", ended.ID, "--handoff", "done for today")
	foreign := attach("--provider", "tmux", "--tmux-socket", "default", "--tmux-pane", "%1")
	for _, tc := range []struct {
		id   string
		code int
		want string
	}{
		{plain.ID, exitConflict, "has no tmux pane to attach to"},
		{ended.ID, exitConflict, "is detached (detached by codex): its pane is not live"},
		{foreign.ID, exitForbidden, `tmux socket "default" is not one of Fairway's own`},
	} {
		if _, errOut, code := e.runWith(nil, "alice", "session", "attach-terminal", tc.id); code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d %s", tc.id, code, errOut)
		}
	}
	live := attach("--provider", "tmux", "--tmux-socket", "fairway-x", "--tmux-pane", "%7")
	argv, err := attachTerminalArgs(live)
	if err != nil || strings.Join(argv, " ") != "tmux -L fairway-x attach-session -t %7" {
		t.Fatalf("attach command %q, %v", argv, err)
	}
}

// Under tmux, on Fairway's own socket: the agent runs in a pane, its
// output reaches the transcript, and killing the pane's process with
// SIGKILL interrupts the session with exit 137.
func TestSessionStart_TmuxPaneKilled(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt package: tmux)")
	}
	sc := newScenario(t, "SC-6")
	socket := fmt.Sprintf("fairway-test-%d", os.Getpid())
	t.Cleanup(func() {
		if tm, err := provider.NewTmux(socket); err == nil {
			tm.Kill(t.Context())
		}
	})
	var out syncBuffer
	done := make(chan int, 1)
	var errb syncBuffer
	go func() {
		done <- sc.cli(strings.NewReader(""), &out, &errb, "codex", append([]string{"session", "start", "--task", "SC-6", "--provider", "tmux",
			"--tmux-socket", socket, "--stable", "1h", "--idle", "2h", "--"}, sc.agentArgv("SC-6", fakeagent.CueFinish)...)...)
	}()
	waitFor(t, "the agent to ask", func() bool { return strings.Contains(out.String(), "Proceed with the change? [y/N]") })
	s := sc.sessions("SC-6")[0]
	if s.TmuxSocket != socket || !strings.HasPrefix(s.TmuxPane, "%") || s.PID == 0 {
		t.Fatalf("session %+v", s)
	}
	if ok, why := provider.Liveness(t.Context(), s); !ok {
		t.Fatalf("live pane not confirmed: %s", why)
	}
	syscall.Kill(s.PID, syscall.SIGKILL)
	// tmux marks a pane dead when its terminal closes and reads how the
	// process ended when it reaps it; on a loaded machine it may not have
	// done so within the watcher's patience. Either way the session is
	// interrupted, never left attached: only the code said may differ.
	code := <-done
	reason, note := "the process exited with code 137 (killed)", "(tmux, exit 137, killed)"
	if code == -1 {
		reason, note = "the process exited with code -1 ("+provider.ExitUnknown+")", "(tmux, exit -1, "+provider.ExitUnknown+")"
	} else if code != 137 {
		t.Fatalf("exit %d\n%s\noutput:\n%q\nobservations: %q", code, errb.String(), out.String(), observed(sc.sessions("SC-6")[0]))
	}
	s = sc.sessions("SC-6")[0]
	if s.State != fairway.SessionInterrupted || s.Reason != reason || len(s.ProviderSessions) != 1 {
		t.Fatalf("session %s: %s %v", s.State, s.Reason, s.ProviderSessions)
	}
	var ev []*fairway.Evidence
	sc.mustJSON(&ev, "alice", "evidence", "list", "SC-6")
	if len(ev) != 1 || ev[0].Kind != fairway.EvidenceContext || !strings.Contains(ev[0].Note, note) {
		t.Fatalf("evidence %+v", ev)
	}
}

// session start works the same against a server: the command's writes go
// through its session credential as the bearer token, and the transcript
// is recorded through the session.
func TestSessionStart_BothModes(t *testing.T) {
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		if _, errOut, code := e.runWith(nil, "alice", "task", "create", "M-1", "--title", "modes"); code != 0 {
			t.Fatal(errOut)
		}
		script := `echo "session id: 1b4e28ba-2fa1-11d2-883f-0016d3cca427"; fairway_session=$FAIRWAY_SESSION; echo "as $fairway_session"; exit 0`
		out, errOut, code := e.runWith(nil, "codex", "session", "start", "--task", "M-1", "--provider", "shell", "--stable", "1h", "--idle", "2h", "--", "sh", "-c", script)
		if code != 0 {
			t.Fatalf("local=%t: exit %d\n%s\n%s", local, code, out, errOut)
		}
		var list []*fairway.Session
		lo, _, _ := e.runWith(nil, "alice", "session", "list", "--task", "M-1", "--json")
		json.Unmarshal([]byte(lo), &list)
		if len(list) != 1 {
			t.Fatalf("local=%t: %d sessions", local, len(list))
		}
		s := list[0]
		if s.State != fairway.SessionDetached || s.Reason != "the process exited 0" || strings.Join(s.ProviderSessions, ",") != "1b4e28ba-2fa1-11d2-883f-0016d3cca427" ||
			!strings.Contains(out, "as "+s.ID) || s.PID == 0 || s.PIDStart == "" || s.Dir == "" {
			t.Fatalf("local=%t: session %+v\noutput %q", local, s, out)
		}
		var ev []*fairway.Evidence
		eo, _, _ := e.runWith(nil, "alice", "evidence", "list", "M-1", "--json")
		json.Unmarshal([]byte(eo), &ev)
		if len(ev) != 1 || ev[0].Kind != fairway.EvidenceContext || ev[0].Session != s.ID || ev[0].Filename != "transcript.log" {
			t.Fatalf("local=%t: evidence %+v", local, ev)
		}
	}
}
