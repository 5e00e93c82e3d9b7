package ledger_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"fairway"
	"fairway/ledger"
)

// stepClock is a clock a test moves by hand; each reading also moves it
// one millisecond so writes keep their order.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sessionLedger is a ledger with the authority fixture, a clock the test
// moves, and a second agent, claude.
func sessionLedger(t *testing.T) (*ledger.Ledger, *stepClock) {
	l := MustOpenLedger(t)
	c := &stepClock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	l.Now = c.Now
	setUp(t, l, true)
	must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: "claude", Kind: fairway.KindAgent}))
	return l, c
}

// withCred is a context acting with a session's credential, as the CLI
// and the HTTP server build it once the credential is authenticated.
func withCred(t *testing.T, l *ledger.Ledger, token string) context.Context {
	t.Helper()
	a, auth, err := ledger.TokenAuth{L: l}.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("authenticate session credential: %v", err)
	}
	return fairway.NewContextWithAuth(fairway.NewContextWithActor(context.Background(), a), auth)
}

func wantErr(t *testing.T, what string, err error, code, contains string) {
	t.Helper()
	if fairway.ErrorCode(err) != code || !strings.Contains(fairway.ErrorMessage(err), contains) {
		t.Fatalf("%s: %v (code %q), want %s containing %q", what, err, fairway.ErrorCode(err), code, contains)
	}
}

func lastAction(t *testing.T, l *ledger.Ledger) string {
	events := must(l.AuditLog(context.Background(), fairway.AuditFilter{}))
	return events[len(events)-1].Action
}

func TestSession_CredentialAuthenticatesAsItsActorWithItsGeneration(t *testing.T) {
	l, _ := sessionLedger(t)
	att := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex"}))
	if !strings.HasPrefix(att.Token, ledger.SessionTokenPrefix) || att.Session.Generation != 1 || att.Session.State != fairway.SessionAttached {
		t.Fatalf("attached = %+v token %q", att.Session, att.Token)
	}
	a, auth, err := ledger.TokenAuth{L: l}.Authenticate(context.Background(), att.Token)
	if err != nil || a.Name != "codex" || auth.Session != att.Session.ID || auth.Generation != 1 {
		t.Fatalf("Authenticate = %v %+v %v", a, auth, err)
	}
	if _, _, err := (ledger.TokenAuth{L: l}).Authenticate(context.Background(), ledger.SessionTokenPrefix+"00"); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("unknown session credential: %v, want unauthorized", err)
	}
	// Evidence and claims record the session they were made through.
	ctx := withCred(t, l, att.Token)
	c := must(l.AddClaim(ctx, fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "tests pass"}))
	ev := must(l.AddEvidence(ctx, fairway.EvidenceAdd{Task: "OPS-FIX-001", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("ok\n")}))
	if c.Session != att.Session.ID || ev.Session != att.Session.ID {
		t.Fatalf("claim session %q, evidence session %q; want %s", c.Session, ev.Session, att.Session.ID)
	}
}

func TestSession_ZombieWriteIsRefused(t *testing.T) {
	l, _ := sessionLedger(t)
	old := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex"}))
	zombie := withCred(t, l, old.Token)
	// Without --replace the second attach is refused, naming the holder.
	_, err := l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "claude"})
	wantErr(t, "second attach", err, fairway.ECONFLICT, old.Session.ID)
	if got := lastAction(t, l); got != "session.attach.refused" {
		t.Fatalf("last audit action %q, want session.attach.refused", got)
	}
	repl := must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "claude", Replace: old.Session.ID}))
	if repl.Session.Generation != 2 || repl.Session.Replaces != old.Session.ID {
		t.Fatalf("replacement = %+v", repl.Session)
	}
	for name, write := range map[string]func() error{
		"claim": func() error { return ignore(l.AddClaim(zombie, fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "done"})) },
		"transition": func() error {
			return ignore(l.TransitionTask(zombie, "OPS-FIX-001", fairway.Transition{Status: fairway.StatusInProgress}))
		},
		"heartbeat": func() error { return ignore(l.HeartbeatSession(zombie, old.Session.ID)) },
		"evidence": func() error {
			return ignore(l.AddEvidence(zombie, fairway.EvidenceAdd{Task: "OPS-FIX-001", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("late\n")}))
		},
		"lane": func() error { return ignore(l.CreateLane(zombie, fairway.LaneCreate{Name: "zombie"})) },
	} {
		err := write()
		wantErr(t, "zombie "+name, err, fairway.EFORBIDDEN, "is replaced")
		if !strings.Contains(err.Error(), repl.Session.ID) {
			t.Errorf("zombie %s: %v does not name the session that holds the task", name, err)
		}
		if got := lastAction(t, l); !strings.HasSuffix(got, ".refused") {
			t.Errorf("zombie %s: last audit action %q, want a refusal", name, got)
		}
	}
	// The same actor with a forged generation is refused too.
	forged := fairway.NewContextWithAuth(as("claude"), &fairway.Auth{Session: repl.Session.ID, Generation: 1})
	_, err = l.AddClaim(forged, fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "x"})
	wantErr(t, "forged generation", err, fairway.EFORBIDDEN, "generation 1")
	// Another actor presenting the session is refused.
	stolen := fairway.NewContextWithAuth(as("codex"), &fairway.Auth{Session: repl.Session.ID, Generation: 2})
	_, err = l.AddClaim(stolen, fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "x"})
	wantErr(t, "another actor's session", err, fairway.EUNAUTHORIZED, "belongs to claude")
	// The replacement works, and the old session shows why it ended.
	must(l.AddClaim(withCred(t, l, repl.Token), fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "picked up"}))
	s := must(l.GetSession(as("alice"), old.Session.ID))
	if s.State != fairway.SessionReplaced || s.ReplacedBy != repl.Session.ID {
		t.Fatalf("old session = %+v", s)
	}
}

func TestSession_ExpiredLeaseFreesTheTaskAndFencesWrites(t *testing.T) {
	l, clk := sessionLedger(t)
	att := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "shell", LeaseTTL: 30 * time.Second}))
	ctx := withCred(t, l, att.Token)
	clk.advance(20 * time.Second)
	must(l.HeartbeatSession(ctx, att.Session.ID))
	clk.advance(20 * time.Second) // 40s after attach, 20s after the heartbeat
	must(l.AddClaim(ctx, fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "still here"}))
	clk.advance(31 * time.Second)

	// Read before any write: it already reads as expired, and not live.
	if live := must(l.ListSessions(as("alice"), fairway.SessionFilter{Task: "OPS-FIX-001", Live: true})); len(live) != 0 {
		t.Fatalf("live sessions after the lease ran out: %d", len(live))
	}
	if s := must(l.GetSession(as("alice"), att.Session.ID)); s.State != fairway.SessionExpired {
		t.Fatalf("state read after the lease = %s, want expired", s.State)
	}
	_, err := l.AddClaim(ctx, fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "back from the dead"})
	wantErr(t, "write after expiry", err, fairway.EFORBIDDEN, "expired")
	_, err = l.HeartbeatSession(ctx, att.Session.ID)
	wantErr(t, "heartbeat after expiry", err, fairway.EFORBIDDEN, "expired")
	// The expiry was written (and audited) by the refused write.
	events := must(l.AuditLog(context.Background(), fairway.AuditFilter{}))
	var expired int
	for _, e := range events {
		if e.Action == "session.expire" && e.Subject == att.Session.ID {
			expired++
		}
	}
	if expired != 1 {
		t.Fatalf("session.expire events = %d, want 1", expired)
	}
	// The task is free: another agent attaches without --replace, and
	// nothing the dead session recorded is lost.
	must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "claude"}))
	claims := must(l.ListClaims(as("alice"), "OPS-FIX-001"))
	if len(claims) != 1 || claims[0].Session != att.Session.ID {
		t.Fatalf("claims = %+v", claims)
	}
}

func TestSession_SweepExpiresSessionsNoOneTouches(t *testing.T) {
	l, clk := sessionLedger(t)
	a := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "shell", LeaseTTL: time.Minute}))
	must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-002", Provider: "shell", LeaseTTL: time.Hour}))
	if n := must(l.ExpireSessions(context.Background())); n != 0 {
		t.Fatalf("swept %d before any lease ran out", n)
	}
	clk.advance(2 * time.Minute)
	if n := must(l.ExpireSessions(context.Background())); n != 1 {
		t.Fatalf("swept %d, want 1", n)
	}
	events := must(l.AuditLog(context.Background(), fairway.AuditFilter{}))
	if e := events[len(events)-1]; e.Action != "session.expire" || e.Subject != a.Session.ID || e.Actor != "@fairway" {
		t.Fatalf("last event = %s %s by %s", e.Action, e.Subject, e.Actor)
	}
}

func TestSession_TwoAttachesAtOnceOneWins(t *testing.T) {
	l, _ := sessionLedger(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := []string{"codex", "claude"}[i%2]
			_, errs[i] = l.AttachSession(as(who), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex"})
		}()
	}
	wg.Wait()
	var won, lost int
	for _, err := range errs {
		switch fairway.ErrorCode(err) {
		case "":
			won++
		case fairway.ECONFLICT:
			lost++
		default:
			t.Fatalf("attach: %v", err)
		}
	}
	if won != 1 || lost != n-1 {
		t.Fatalf("won %d, lost %d; want 1 and %d", won, lost, n-1)
	}
	// A task that allows two holds two.
	must(l.UpdateTask(as("alice"), "OPS-FIX-002", fairway.TaskUpdate{AddLabels: []string{fairway.MaxSessionsLabel + "2"}}))
	must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-002", Provider: "codex"}))
	must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-002", Provider: "claude"}))
	_, err := l.AttachSession(as("ci"), fairway.SessionAttach{Task: "OPS-FIX-002", Provider: "shell"})
	wantErr(t, "third attach", err, fairway.ECONFLICT, "2 live session(s)")
}

func TestSession_CredentialCannotApproveCloseOrCreateActors(t *testing.T) {
	l, _ := sessionLedger(t)
	att := must(l.AttachSession(as("omar"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "tmux"}))
	ctx := withCred(t, l, att.Token)
	for name, call := range map[string]func() error{
		"approve review": func() error {
			return ignore(l.AddReview(ctx, fairway.ReviewAdd{Task: "OPS-FIX-003", Domain: "ops", Verdict: fairway.VerdictApproved}))
		},
		"close":  func() error { return ignore(l.CloseTask(ctx, "OPS-FIX-001")) },
		"cancel": func() error { return ignore(l.CancelTask(ctx, "OPS-FIX-001", "no")) },
		"create agent": func() error {
			return ignore(l.CreateActor(ctx, fairway.ActorCreate{Name: "gemini", Kind: fairway.KindAgent}))
		},
		"create human": func() error {
			return ignore(l.CreateActor(ctx, fairway.ActorCreate{Name: "eve", Kind: fairway.KindHuman}))
		},
		"issue a token": func() error { return ignore(l.RotateToken(ctx, "codex", 0)) },
		"disable":       func() error { return ignore(l.DisableActor(ctx, "codex", "x")) },
		"attach another": func() error {
			return ignore(l.AttachSession(ctx, fairway.SessionAttach{Task: "OPS-FIX-002", Provider: "tmux"}))
		},
	} {
		err := call()
		wantErr(t, name, err, fairway.EFORBIDDEN, "session")
		if got := lastAction(t, l); !strings.HasSuffix(got, ".refused") {
			t.Errorf("%s: last audit action %q, want a refusal", name, got)
		}
	}
}

func TestSession_DisabledActorsSessionStops(t *testing.T) {
	l, _ := sessionLedger(t)
	att := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex"}))
	ctx := withCred(t, l, att.Token)
	must(l.DisableActor(as("alice"), "codex", "misbehaved"))
	if _, _, err := (ledger.TokenAuth{L: l}).Authenticate(context.Background(), att.Token); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("disabled actor's session credential: %v, want unauthorized", err)
	}
	_, err := l.AddClaim(ctx, fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "x"})
	wantErr(t, "write by a disabled actor's session", err, fairway.EUNAUTHORIZED, "disabled")
	s := must(l.GetSession(as("alice"), att.Session.ID))
	if s.State != fairway.SessionInterrupted || !strings.Contains(s.Reason, "disabled") {
		t.Fatalf("session after disable = %s (%s)", s.State, s.Reason)
	}
	must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "claude"}))
}

func TestSession_HandoffIsShownToTheNextSession(t *testing.T) {
	l, _ := sessionLedger(t)
	first := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex"}))
	if first.Handoff != nil {
		t.Fatalf("first session sees a handoff: %+v", first.Handoff)
	}
	ctx := withCred(t, l, first.Token)
	_, err := l.DetachSession(ctx, first.Session.ID, "token is AKIAIOSFODNN7EXAMPLE for the bucket")
	wantErr(t, "handoff with a secret", err, fairway.EINVALID, "handoff")
	if s := must(l.GetSession(as("alice"), first.Session.ID)); s.State != fairway.SessionAttached {
		t.Fatalf("a refused detach changed the session: %s", s.State)
	}
	d := must(l.DetachSession(ctx, first.Session.ID, "migrations written; next: run the smoke suite"))
	if d.State != fairway.SessionDetached {
		t.Fatalf("detached state = %s", d.State)
	}
	_, err = l.DetachSession(ctx, first.Session.ID, "again")
	wantErr(t, "detach twice", err, fairway.EFORBIDDEN, "detached")
	next := must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "claude"}))
	if h := next.Handoff; h == nil || h.Session != first.Session.ID || h.Summary != "migrations written; next: run the smoke suite" || h.Actor != "codex" {
		t.Fatalf("handoff seen by the next session = %+v", h)
	}
}

func TestSession_HolderIsNotIndependent(t *testing.T) {
	l, _ := sessionLedger(t)
	att := must(l.AttachSession(as("omar"), fairway.SessionAttach{Task: "OPS-FIX-003", Provider: "tmux"}))
	must(l.DetachSession(as("omar"), att.Session.ID, ""))
	_, err := l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-FIX-003", Domain: "ops", Verdict: fairway.VerdictApproved})
	wantErr(t, "review by a session holder", err, fairway.EFORBIDDEN, "held a session on it")
}

func TestSession_OnlyItsActorOrAnOperatorControlsIt(t *testing.T) {
	l, _ := sessionLedger(t)
	a := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex"}))
	b := must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-002", Provider: "claude"}))
	_, err := l.HeartbeatSession(as("claude"), a.Session.ID)
	wantErr(t, "another agent's heartbeat", err, fairway.EFORBIDDEN, "belongs to codex")
	_, err = l.DetachSession(withCred(t, l, b.Token), a.Session.ID, "")
	wantErr(t, "another session's credential", err, fairway.EFORBIDDEN, "cannot act on session")
	must(l.HeartbeatSession(as("codex"), a.Session.ID))
	must(l.HeartbeatSession(as("ci"), a.Session.ID))
}

func TestSession_ProcessExitEndsTheSession(t *testing.T) {
	cases := []struct {
		code  int
		state string
	}{{0, fairway.SessionDetached}, {137, fairway.SessionInterrupted}, {1, fairway.SessionInterrupted}}
	for _, c := range cases {
		l, _ := sessionLedger(t)
		att := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "shell"}))
		ctx := withCred(t, l, att.Token)
		must(l.ObserveSession(ctx, fairway.SessionObserve{Session: att.Session.ID, Source: fairway.SourceWaiting, Detail: "prompt", ProviderSession: "conv-1"}))
		must(l.ObserveSession(ctx, fairway.SessionObserve{Session: att.Session.ID, Source: fairway.SourceProcessExit, ExitCode: &c.code}))
		s := must(l.GetSession(as("alice"), att.Session.ID))
		if s.State != c.state || len(s.Observations) != 2 || s.Observations[0].Source != fairway.SourceProcessExit || len(s.ProviderSessions) != 1 {
			t.Fatalf("exit %d: state %s, %d observations, provider sessions %v", c.code, s.State, len(s.Observations), s.ProviderSessions)
		}
	}
	l, _ := sessionLedger(t)
	_, err := l.ObserveSession(as("codex"), fairway.SessionObserve{Session: "ses-0000000000000001", Source: "running"})
	wantErr(t, "unknown source", err, fairway.EINVALID, "not an observation source")
}

func TestSession_ReconcileInterruptsWhatItCannotConfirm(t *testing.T) {
	l, _ := sessionLedger(t)
	dead := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "shell", PID: 999999, PIDStart: "1"}))
	alive := must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-002", Provider: "tmux"}))
	got := must(l.Reconcile(context.Background(), func(_ context.Context, s *fairway.Session) (bool, string) {
		if s.ID == dead.Session.ID {
			return false, "pid 999999 is gone"
		}
		return true, ""
	}))
	if len(got) != 1 || got[0].ID != dead.Session.ID {
		t.Fatalf("reconciled %v", got)
	}
	s := must(l.GetSession(as("alice"), dead.Session.ID))
	if s.State != fairway.SessionInterrupted || !strings.Contains(s.Reason, "pid 999999 is gone") || s.Observations[0].Source != fairway.SourceReconcile {
		t.Fatalf("dead session = %s (%s)", s.State, s.Reason)
	}
	if s := must(l.GetSession(as("alice"), alive.Session.ID)); s.State != fairway.SessionAttached {
		t.Fatalf("confirmed session = %s", s.State)
	}
}

func TestSession_BadInputNamesTheField(t *testing.T) {
	l, _ := sessionLedger(t)
	for _, c := range []struct {
		in    fairway.SessionAttach
		field string
	}{
		{fairway.SessionAttach{Provider: "codex"}, "task"},
		{fairway.SessionAttach{Task: "OPS-FIX-001"}, "provider"},
		{fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "Codex!"}, "provider"},
		{fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex", Replace: "S-1"}, "replace"},
		{fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex", LeaseTTL: time.Second}, "lease_ttl"},
		{fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex", BaseCommit: "main"}, "base_commit"},
		{fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex", Dir: "a\x1b[2Jb"}, "dir"},
	} {
		_, err := l.AttachSession(as("codex"), c.in)
		var fe *fairway.Error
		if !asError(err, &fe) || fe.Code != fairway.EINVALID || fe.Field != c.field {
			t.Errorf("attach %+v: %v, want invalid %s", c.in, err, c.field)
		}
	}
	if n := len(must(l.ListSessions(as("alice"), fairway.SessionFilter{}))); n != 0 {
		t.Fatalf("bad input stored %d sessions", n)
	}
}

// A replaced agent cannot go on with its plain token: a task held by a
// live session takes an agent's writes only through that session; and a
// session credential writes to its own task only (R10).
func TestSession_HeldTaskTakesAgentWritesOnlyThroughItsSession(t *testing.T) {
	l, _ := sessionLedger(t)
	old := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex"}))
	repl := must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "claude", Replace: old.Session.ID}))
	zombie := []struct {
		name string
		call func() error
	}{
		{"claim", func() error {
			return ignore(l.AddClaim(as("codex"), fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "zombie"}))
		}},
		{"evidence", func() error {
			return ignore(l.AddEvidence(as("codex"), fairway.EvidenceAdd{Task: "OPS-FIX-001", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("x\n")}))
		}},
		{"move", func() error {
			return ignore(l.TransitionTask(as("codex"), "OPS-FIX-001", fairway.Transition{Status: fairway.StatusInProgress}))
		}},
		{"the holder without its session", func() error {
			return ignore(l.AddClaim(as("claude"), fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "plain token"}))
		}},
	}
	for _, z := range zombie {
		if err := z.call(); fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "held by session "+repl.Session.ID) {
			t.Errorf("%s: %v, want refused: the task is held by %s", z.name, err, repl.Session.ID)
		}
	}
	ctx := withCred(t, l, repl.Token)
	must(l.AddClaim(ctx, fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "through the session"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-777", Title: "another task"}))
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"claim on another task", func() error {
			return ignore(l.AddClaim(ctx, fairway.ClaimAdd{Task: "OPS-FIX-777", Text: "elsewhere"}))
		}},
		{"a new task", func() error {
			return ignore(l.CreateTask(ctx, fairway.TaskCreate{Key: "OPS-FIX-778", Title: "made by a session"}))
		}},
	} {
		if err := c.call(); fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "session "+repl.Session.ID+" works on task OPS-FIX-001") {
			t.Errorf("%s: %v, want refused", c.name, err)
		}
	}
	if _, err := l.GetTask(context.Background(), "OPS-FIX-778"); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatalf("the refused task exists: %v", err)
	}
	if got := lastAction(t, l); got != "task.create.refused" {
		t.Fatalf("last event %s, want the refusal audited", got)
	}
	// A human is not fenced by an agent's session.
	must(l.AddClaim(as("alice"), fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "reviewing"}))
}

// A replaced agent cannot go on writing to its old session with its
// plain token either: observations (what the agent's hooks report) on a
// session that ended are refused like every other zombie write, so the
// ended session's status stream stays what it was when it was replaced.
func TestSession_ZombieObservationWithThePlainTokenIsRefused(t *testing.T) {
	l, _ := sessionLedger(t)
	old := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex"}))
	repl := must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "claude", Replace: old.Session.ID}))
	_, err := l.ObserveSession(as("codex"), fairway.SessionObserve{Session: old.Session.ID, Source: fairway.SourceHook, Detail: "codex agent-turn-complete: still working"})
	wantErr(t, "zombie observation", err, fairway.EFORBIDDEN, "is replaced")
	if !strings.Contains(err.Error(), repl.Session.ID) {
		t.Errorf("%v does not name the session that holds the task", err)
	}
	for _, o := range must(l.GetSession(as("alice"), old.Session.ID)).Observations {
		if strings.Contains(o.Detail, "still working") {
			t.Fatalf("the ended session took an observation: %+v", o)
		}
	}
}

// A session keeps at most 20 provider session ids, as attach takes at
// most 20: an agent's hooks naming a new id on every call cannot grow
// the session's row without bound. Every observation is still recorded.
func TestSession_ProviderSessionIDsAreBounded(t *testing.T) {
	l, _ := sessionLedger(t)
	att := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex"}))
	cred := withCred(t, l, att.Token)
	for i := range 30 {
		must(l.ObserveSession(cred, fairway.SessionObserve{Session: att.Session.ID, Source: fairway.SourceHook,
			Detail: fmt.Sprintf("turn %d", i), ProviderSession: fmt.Sprintf("thread-%02d", i)}))
	}
	s := must(l.GetSession(as("alice"), att.Session.ID))
	if len(s.ProviderSessions) != 20 || s.ProviderSessions[0] != "thread-00" || s.ProviderSessions[19] != "thread-19" {
		t.Fatalf("%d provider sessions kept: %v", len(s.ProviderSessions), s.ProviderSessions)
	}
	if len(s.Observations) < 30 {
		t.Fatalf("%d observations, want the 30 made", len(s.Observations))
	}
}

// A heartbeat, made with the session's own credential or by a human,
// moves the lease to its TTL from now and the update time, and nothing
// else; it is audited and observed each time.
func TestSession_HeartbeatRenewsOnlyTheLease(t *testing.T) {
	l, clk := sessionLedger(t)
	att := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "shell",
		ProviderSessions: []string{"0b5e-1"}, Host: "build-3", PID: 4242, PIDStart: "98765", Dir: "src", BaseCommit: "0123abcd", LeaseTTL: 30 * time.Second}))
	for i, ctx := range []context.Context{withCred(t, l, att.Token), as("alice")} {
		before := must(l.GetSession(as("alice"), att.Session.ID))
		clk.advance(10 * time.Second)
		got := must(l.HeartbeatSession(ctx, att.Session.ID))
		after := must(l.GetSession(as("alice"), att.Session.ID))
		if !got.UpdatedAt.After(before.UpdatedAt) || !got.LeaseUntil.Equal(got.UpdatedAt.Add(30*time.Second)) {
			t.Fatalf("heartbeat %d: lease %s, updated %s (before: updated %s)", i, got.LeaseUntil, got.UpdatedAt, before.UpdatedAt)
		}
		want := *before
		want.LeaseUntil, want.UpdatedAt, want.Observations = got.LeaseUntil, got.UpdatedAt, nil
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("heartbeat %d returned %+v, want %+v", i, got, &want)
		}
		stored := *after
		stored.Observations = nil
		if !reflect.DeepEqual(&stored, &want) {
			t.Fatalf("heartbeat %d stored %+v, want %+v", i, &stored, &want)
		}
		if len(after.Observations) != i+1 || after.Observations[0].Source != fairway.SourceHeartbeat || !after.Observations[0].At.Equal(got.UpdatedAt) {
			t.Fatalf("heartbeat %d: observations %+v", i, after.Observations)
		}
		if a := lastAction(t, l); a != "session.heartbeat" {
			t.Fatalf("heartbeat %d: last audit event %s", i, a)
		}
	}
}

// An ended session's credential is refused for everything, reads and
// event streams included, with the refusal a write gets: detached,
// replaced by a newer generation, or its lease run out (before any write
// marked it expired). The credential's answer kept in memory does not
// outlive the ending.
func TestSession_EndedSessionsCredentialReadsNothing(t *testing.T) {
	l, clk := sessionLedger(t)
	ctx := context.Background()
	for _, k := range []string{"OPS-FIX-030", "OPS-FIX-031", "OPS-FIX-032"} {
		must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: k, Title: "work"}))
	}
	auth := ledger.TokenAuth{L: l}
	refusedLikeAWrite := func(what, token string, ended context.Context) {
		t.Helper()
		_, werr := l.AddClaim(ended, fairway.ClaimAdd{Task: "OPS-FIX-030", Text: "still here"})
		_, _, rerr := auth.Authenticate(ctx, token)
		if rerr == nil || fairway.ErrorCode(werr) != fairway.EFORBIDDEN || rerr.Error() != werr.Error() {
			t.Fatalf("%s: the credential authenticates as %v, want the write's refusal %v", what, rerr, werr)
		}
	}

	detached := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-030", Provider: "codex"}))
	dctx := withCred(t, l, detached.Token) // kept in memory from here
	must(l.DetachSession(dctx, detached.Session.ID, "done for today"))
	refusedLikeAWrite("detached", detached.Token, dctx)

	old := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-031", Provider: "codex"}))
	octx := withCred(t, l, old.Token)
	repl := must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-031", Provider: "claude", Replace: old.Session.ID}))
	_, _, err := auth.Authenticate(ctx, old.Token)
	wantErr(t, "replaced", err, fairway.EFORBIDDEN, "session "+repl.Session.ID+" holds the task now")
	refusedLikeAWrite("replaced", old.Token, octx)

	lease := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-032", Provider: "shell", LeaseTTL: 30 * time.Second}))
	withCred(t, l, lease.Token)
	clk.advance(31 * time.Second)
	_, _, err = auth.Authenticate(ctx, lease.Token)
	wantErr(t, "lease run out", err, fairway.EFORBIDDEN, "is expired: lease ran out at")
	if s := must(l.GetSession(as("alice"), lease.Session.ID)); s.State != fairway.SessionExpired {
		t.Fatalf("the session read after its lease = %s, want expired", s.State)
	}
	// The replacement's credential goes on.
	if a, _, err := auth.Authenticate(ctx, repl.Token); err != nil || a.Name != "claude" {
		t.Fatalf("the live replacement's credential: %v %v", a, err)
	}
}

// Fairway's own credentials are secrets too (R7): an agent that writes
// its session credential, its bearer token or a login link into a
// handoff or a claim hands it to every reader of the ledger, for ever.
func TestSession_HandoffOrClaimCarryingAFairwayCredentialIsRefused(t *testing.T) {
	l, _ := sessionLedger(t)
	claude := must(l.RotateToken(as("alice"), "claude", 0))
	att := must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "claude"}))
	link := must(l.IssueLoginLink(as("alice"), 10*time.Minute, 0))
	ctx := withCred(t, l, att.Token)
	for name, cred := range map[string]string{"session credential": att.Token, "bearer token": claude.Token, "login link": link.Link} {
		before := auditLen(t, l)
		_, err := l.DetachSession(ctx, att.Session.ID, "next agent: export FAIRWAY_TOKEN_X "+cred)
		wantErr(t, "handoff with a "+name, err, fairway.EINVALID, "fairway-credential")
		_, err = l.AddClaim(ctx, fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "works with " + cred})
		wantErr(t, "claim with a "+name, err, fairway.EINVALID, "fairway-credential")
		if got := auditLen(t, l); got != before {
			t.Fatalf("%s: %d audit events written by refused writes", name, got-before)
		}
	}
	if s := must(l.GetSession(as("alice"), att.Session.ID)); s.State != fairway.SessionAttached || s.Handoff != "" {
		t.Fatalf("a refused detach changed the session: %s %q", s.State, s.Handoff)
	}
}
