package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"fairway"
)

// sections reads a testdata file of "-- NAME --" sections (lines starting
// with # before the first are comments), in order.
func sections(t *testing.T, path string) (names, bodies []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if n, ok := strings.CutPrefix(line, "-- "); ok && strings.HasSuffix(n, " --") {
			names, bodies = append(names, strings.TrimSuffix(n, " --")), append(bodies, "")
			continue
		}
		if len(names) > 0 && strings.TrimSpace(line) != "" {
			bodies[len(bodies)-1] += line + "\n"
		}
	}
	return names, bodies
}

// runHook runs the CLI in-process with stdin and extra environment.
func (e *cliEnv) runHook(extra map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	env := map[string]string{}
	if e.local {
		env["FAIRWAY_DIR"] = e.dir
	} else {
		env["FAIRWAY_SERVER"] = e.server
	}
	for k, v := range extra {
		env[k] = v
	}
	a := &app{ctx: context.Background(), stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return env[k] }, now: e.clock.Now}
	code = a.run(args)
	return out.String(), errb.String(), code
}

// hookObservations attaches a session for codex on task key and returns
// its credential environment.
func attachForHooks(t *testing.T, e *cliEnv, key string) (fairway.AttachedSession, map[string]string) {
	t.Helper()
	if _, errOut, code := e.runWith(nil, "alice", "task", "create", key, "--title", "hooks"); code != 0 {
		t.Fatal(errOut)
	}
	out, errOut, code := e.runWith(nil, "codex", "session", "attach", "--task", key, "--provider", "claude", "--json")
	if code != 0 {
		t.Fatal(errOut)
	}
	var att fairway.AttachedSession
	if err := json.Unmarshal([]byte(out), &att); err != nil {
		t.Fatal(err)
	}
	return att, map[string]string{"FAIRWAY_SESSION": att.Session.ID, "FAIRWAY_SESSION_TOKEN": att.Token}
}

func sessionNow(t *testing.T, e *cliEnv, id string) *fairway.Session {
	t.Helper()
	out, errOut, code := e.runWith(nil, "alice", "session", "show", id, "--json")
	if code != 0 {
		t.Fatal(errOut)
	}
	var s fairway.Session
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// hookDetails lists a session's hook observations oldest first, and
// counts its heartbeats.
func hookDetails(s *fairway.Session) (details []string, heartbeats int) {
	for i := len(s.Observations) - 1; i >= 0; i-- {
		switch o := s.Observations[i]; o.Source {
		case fairway.SourceHook:
			details = append(details, o.Detail)
		case fairway.SourceHeartbeat:
			heartbeats++
		}
	}
	return details, heartbeats
}

// Claude Code's documented hook events, fed on stdin as Claude Code does,
// become hook observations on the session named by the environment:
// the provider session ids (a resumed conversation adds a second), turn
// boundaries, waits for the user and the stop; every call heartbeats.
func TestHook_ClaudeEventsBecomeObservations(t *testing.T) {
	names, bodies := sections(t, "testdata/hooks/claude.txt")
	if len(names) != 9 {
		t.Fatalf("testdata has %d events", len(names))
	}
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		att, cred := attachForHooks(t, e, "H-1")
		if !local {
			cred["FAIRWAY_TOKEN"] = att.Token
		}
		for i, body := range bodies {
			if out, errOut, code := e.runHook(cred, body, "hook", "claude"); code != 0 || out != "" {
				t.Fatalf("local=%t %s: exit %d, stdout %q: %s", local, names[i], code, out, errOut)
			}
		}
		s := sessionNow(t, e, att.Session.ID)
		details, beats := hookDetails(s)
		want := []string{
			"claude SessionStart (startup): provider session 00893aaf-19fa-41d2-8238-13269b9b3ca0",
			"claude UserPromptSubmit: a turn began",
			"claude Notification: asks the user for permission: Claude needs your permission to use Bash",
			"claude Stop: the turn ended; waiting for the user",
			"claude Notification: waiting for the user: Claude is waiting for your input",
			"claude SessionStart (resume): provider session 7f3c1e52-5b0a-4d4e-9a61-2f8f0c9d1e77",
			"claude SessionEnd: the agent stopped (prompt_input_exit)",
		}
		if strings.Join(details, "\n") != strings.Join(want, "\n") {
			t.Fatalf("local=%t hook observations:\n%s\nwant:\n%s", local, strings.Join(details, "\n"), strings.Join(want, "\n"))
		}
		if beats != 9 {
			t.Fatalf("local=%t %d heartbeats, want one per event (9)", local, beats)
		}
		if got := strings.Join(s.ProviderSessions, ","); got != "00893aaf-19fa-41d2-8238-13269b9b3ca0,7f3c1e52-5b0a-4d4e-9a61-2f8f0c9d1e77" {
			t.Fatalf("local=%t provider sessions %s", local, got)
		}
		if last := s.Observations[0]; last.Source != fairway.SourceHeartbeat || !s.LeaseUntil.Equal(last.At.Add(s.LeaseTTL)) || s.State != fairway.SessionAttached {
			t.Fatalf("local=%t lease until %s, state %s; want renewed by the last event", local, s.LeaseUntil, s.State)
		}
	}
}

// Codex's documented notification, passed as the last argument, records
// the turn, the thread id as the provider session, and what the agent
// said (context, never proof).
func TestHook_CodexNotifyBecomesObservations(t *testing.T) {
	_, bodies := sections(t, "testdata/hooks/codex.txt")
	e := newCLIEnv(t, true)
	att, cred := attachForHooks(t, e, "H-2")
	for _, body := range bodies {
		if out, errOut, code := e.runHook(cred, "", "hook", "codex", strings.TrimSpace(body)); code != 0 || out != "" {
			t.Fatalf("exit %d %q: %s", code, out, errOut)
		}
	}
	s := sessionNow(t, e, att.Session.ID)
	details, beats := hookDetails(s)
	want := []string{
		"codex agent-turn-complete: turn 12345 ended; waiting for the user; it said: Rename complete and verified `cargo build` succeeds.",
		"codex agent-turn-complete: turn 12346 ended; waiting for the user; it said: Done: all tests pass.",
	}
	if strings.Join(details, "\n") != strings.Join(want, "\n") || beats != 2 {
		t.Fatalf("observations %q, %d heartbeats", details, beats)
	}
	if strings.Join(s.ProviderSessions, ",") != "b5f6c1c2-1111-2222-3333-444455556666" {
		t.Fatalf("provider sessions %v", s.ProviderSessions)
	}
}

// A hook never blocks the agent: outside a session it does nothing and
// exits 0; a bad payload or a fenced session exits 1, never 2 (which
// Claude Code reads as "block").
func TestHook_NeverBlocksTheAgent(t *testing.T) {
	e := newCLIEnv(t, true)
	att, cred := attachForHooks(t, e, "H-3")
	if out, errOut, code := e.runHook(nil, `{"session_id":"x","hook_event_name":"Stop"}`, "hook", "claude"); code != 0 || out != "" || !strings.Contains(errOut, "not in a Fairway session") {
		t.Fatalf("outside a session: %d %q %q", code, out, errOut)
	}
	for _, tc := range []struct{ stdin, want string }{
		{`not json`, "is not a Claude Code hook event"},
		{`{"session_id":"x"}`, "hook_event_name: is missing"},
	} {
		if _, errOut, code := e.runHook(cred, tc.stdin, "hook", "claude"); code != 1 || !strings.Contains(errOut, tc.want) {
			t.Fatalf("%q: exit %d %s", tc.stdin, code, errOut)
		}
	}
	if _, errOut, code := e.runHook(cred, "", "hook", "codex", `{"thread-id":"x"}`); code != 1 || !strings.Contains(errOut, "type: is missing") {
		t.Fatalf("codex without type: exit %d %s", code, errOut)
	}
	// Replaced: the zombie's hook is refused by the fence, with exit 1.
	if _, errOut, code := e.runWith(nil, "codex", "session", "attach", "--task", "H-3", "--provider", "claude", "--replace", att.Session.ID); code != 0 {
		t.Fatal(errOut)
	}
	if _, errOut, code := e.runHook(cred, `{"session_id":"x","hook_event_name":"Stop"}`, "hook", "claude"); code != 1 || !strings.Contains(errOut, "is replaced") {
		t.Fatalf("zombie hook: exit %d %s", code, errOut)
	}
	if details, _ := hookDetails(sessionNow(t, e, att.Session.ID)); len(details) != 0 {
		t.Fatalf("refused hooks recorded %q", details)
	}
}
