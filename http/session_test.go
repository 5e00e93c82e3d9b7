package http_test

import (
	"context"
	"strings"
	"testing"

	"fairway"
	fairwayhttp "fairway/http"
)

// Through the API, a session credential authenticates as its actor, its
// writes carry the session, and once the session is replaced the same
// credential's writes and reads are refused (fencing).
func TestAPI_SessionCredentialIsFenced(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	alice := fairwayhttp.NewClient(e.srv.URL, e.token)
	agent := fairwayhttp.NewClient(e.srv.URL, e.agent)
	if _, err := alice.CreateTask(ctx, fairway.TaskCreate{Key: "S-1", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	att, err := agent.AttachSession(ctx, fairway.SessionAttach{Task: "S-1", Provider: "codex"})
	if err != nil {
		t.Fatal(err)
	}
	sess := fairwayhttp.NewClient(e.srv.URL, att.Token)
	if who, err := sess.Whoami(ctx); err != nil || who.Name != "codex" {
		t.Fatalf("whoami with the session credential: %v %v", who, err)
	}
	c, err := sess.AddClaim(ctx, fairway.ClaimAdd{Task: "S-1", Text: "started"})
	if err != nil || c.Session != att.Session.ID {
		t.Fatalf("claim through the session: %+v %v", c, err)
	}
	if _, err := sess.HeartbeatSession(ctx, att.Session.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.CloseTask(ctx, "S-1"); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("close with a session credential: %v, want forbidden", err)
	}
	// Replaced: the zombie's credential can no longer write.
	repl, err := agent.AttachSession(ctx, fairway.SessionAttach{Task: "S-1", Provider: "codex", Replace: att.Session.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sess.AddClaim(ctx, fairway.ClaimAdd{Task: "S-1", Text: "done"})
	if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "replaced") || !strings.Contains(err.Error(), repl.Session.ID) {
		t.Fatalf("zombie write through the API: %v", err)
	}
	// Its reads are refused alike: the session ended.
	if got, err := sess.GetSession(ctx, att.Session.ID); fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "replaced") || !strings.Contains(err.Error(), repl.Session.ID) {
		t.Fatalf("zombie session read: %+v %v, want forbidden, replaced", got, err)
	}
	got, err := agent.GetSession(ctx, att.Session.ID)
	if err != nil || got.State != fairway.SessionReplaced || got.ReplacedBy != repl.Session.ID {
		t.Fatalf("the replaced session read with the agent's token: %+v %v", got, err)
	}
	live, err := alice.ListSessions(ctx, fairway.SessionFilter{Task: "S-1", Live: true})
	if err != nil || len(live) != 1 || live[0].ID != repl.Session.ID {
		t.Fatalf("live sessions = %v %v", live, err)
	}
	code := 3
	if _, err := fairwayhttp.NewClient(e.srv.URL, repl.Token).ObserveSession(ctx, fairway.SessionObserve{Session: repl.Session.ID, Source: fairway.SourceProcessExit, ExitCode: &code}); err != nil {
		t.Fatal(err)
	}
	d, err := alice.GetSession(ctx, repl.Session.ID)
	if err != nil || d.State != fairway.SessionInterrupted || len(d.Observations) != 1 {
		t.Fatalf("after process exit: %+v %v", d, err)
	}
	if _, err := alice.ListSessions(ctx, fairway.SessionFilter{State: "running"}); fairway.ErrorCode(err) != fairway.EINVALID {
		t.Fatalf("list by an unknown state: %v, want invalid", err)
	}
}
