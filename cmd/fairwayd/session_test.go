package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"fairway"
)

// runWith runs the CLI as e.run does, with extra environment.
func (e *cliEnv) runWith(extra map[string]string, as string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	env := map[string]string{}
	if e.local {
		env["FAIRWAY_DIR"], env["FAIRWAY_ACTOR"] = e.dir, as
	} else {
		env["FAIRWAY_SERVER"], env["FAIRWAY_TOKEN"] = e.server, e.tokens[as]
	}
	for k, v := range extra {
		env[k] = v
	}
	a := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return env[k] }, now: e.clock.Now}
	code = a.run(args)
	return out.String(), errb.String(), code
}

// The session commands in both modes: attach prints a credential, writes
// through it carry the session, a replaced session's credential is
// refused (exit 5), and the handoff is the first thing task show prints.
func TestCLI_SessionLifecycle(t *testing.T) {
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		mustRun := func(extra map[string]string, as string, args ...string) string {
			t.Helper()
			out, errOut, code := e.runWith(extra, as, args...)
			if code != 0 {
				t.Fatalf("local=%t %v: exit %d: %s", local, args, code, errOut)
			}
			return out
		}
		mustRun(nil, "alice", "task", "create", "S-1", "--title", "sessions")
		var att fairway.AttachedSession
		if err := json.Unmarshal([]byte(mustRun(nil, "codex", "session", "attach", "--task", "S-1", "--provider", "codex", "--json")), &att); err != nil {
			t.Fatal(err)
		}
		cred := map[string]string{"FAIRWAY_SESSION_TOKEN": att.Token, "FAIRWAY_SESSION": att.Session.ID}
		if !local {
			// In server mode the credential is the bearer token.
			cred = map[string]string{"FAIRWAY_TOKEN": att.Token, "FAIRWAY_SESSION": att.Session.ID}
		}
		var c fairway.Claim
		json.Unmarshal([]byte(mustRun(cred, "codex", "claim", "--task", "S-1", "tests pass", "--json")), &c)
		if c.Session != att.Session.ID {
			t.Fatalf("local=%t claim session %q, want %s", local, c.Session, att.Session.ID)
		}
		if out := mustRun(cred, "codex", "session", "heartbeat"); !strings.HasPrefix(out, att.Session.ID+" lease renewed until ") {
			t.Fatalf("heartbeat: %q", out)
		}
		_, errOut, code := e.runWith(cred, "codex", "session", "attach", "--task", "S-1", "--provider", "codex")
		if code != exitForbidden || !strings.Contains(errOut, "cannot attach a session") {
			t.Fatalf("local=%t attach with a session credential: %d %s", local, code, errOut)
		}
		mustRun(nil, "codex", "session", "attach", "--task", "S-1", "--provider", "claude", "--replace", att.Session.ID)
		_, errOut, code = e.runWith(cred, "codex", "claim", "--task", "S-1", "done")
		if code != exitForbidden || !strings.Contains(errOut, "is replaced") {
			t.Fatalf("local=%t zombie claim: %d %s", local, code, errOut)
		}
		var live []*fairway.Session
		json.Unmarshal([]byte(mustRun(nil, "alice", "session", "list", "--task", "S-1", "--live", "--json")), &live)
		if len(live) != 1 || live[0].Generation != 2 {
			t.Fatalf("local=%t live = %+v", local, live)
		}
		mustRun(nil, "codex", "session", "detach", live[0].ID, "--handoff", "schema migrated\nnext: smoke")
		show := mustRun(nil, "alice", "task", "show", "S-1")
		want := "handoff from " + live[0].ID + " (codex, claude, "
		if !strings.HasPrefix(show, want) || !strings.Contains(show, "    schema migrated\n    next: smoke\n\nS-1  sessions\n") {
			t.Fatalf("local=%t task show:\n%s", local, show)
		}
		if out := mustRun(nil, "alice", "session", "show", att.Session.ID); !strings.Contains(out, "state:        replaced") {
			t.Fatalf("session show:\n%s", out)
		}
		// An ended session's credential reads nothing either.
		if _, errOut, code := e.runWith(cred, "codex", "session", "show", att.Session.ID); code != exitForbidden || !strings.Contains(errOut, "is replaced") {
			t.Fatalf("local=%t a read with the replaced session's credential: %d %s", local, code, errOut)
		}
		if local {
			var next fairway.AttachedSession
			if err := json.Unmarshal([]byte(mustRun(nil, "codex", "session", "attach", "--task", "S-1", "--provider", "codex", "--json")), &next); err != nil {
				t.Fatal(err)
			}
			_, errOut, code = e.runWith(map[string]string{"FAIRWAY_SESSION_TOKEN": next.Token}, "alice", "claim", "--task", "S-1", "x")
			if code != exitUnauthorized || !strings.Contains(errOut, "belongs to codex, not alice") {
				t.Fatalf("credential used as another actor: %d %s", code, errOut)
			}
		}
	}
}
