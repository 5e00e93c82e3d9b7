package ledger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/ledger"
)

// tokenIDOf returns the id `fairway token list` shows for a token.
func tokenIDOf(token string) string { return fairway.TokenID(ledger.HashToken(token)) }

// Revoking one token ends the sessions it attached, and only those: their
// credentials stop (writes, reads and streams), the actor's other token
// cannot keep them going, and the sessions another token attached go on.
func TestToken_RevokingATokenEndsTheSessionsItAttached(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	for _, k := range []string{"OPS-FIX-020", "OPS-FIX-021", "OPS-FIX-022"} {
		must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: k, Title: "work"}))
	}
	agent := must(l.RotateToken(as("alice"), "codex", 0)).Token
	plain := must(l.RotateToken(as("alice"), "alice", 0)).Token
	portal := signInWithLink(t, l, "alice", 0)
	byAgent := must(l.AttachSession(signedInAs(t, l, agent), fairway.SessionAttach{Task: "OPS-FIX-020", Provider: "codex"}))
	byPortal := must(l.AttachSession(signedInAs(t, l, portal), fairway.SessionAttach{Task: "OPS-FIX-021", Provider: "browser"}))
	byPlain := must(l.AttachSession(signedInAs(t, l, plain), fairway.SessionAttach{Task: "OPS-FIX-022", Provider: "shell"}))

	// alice revokes her portal sign-in by id; her plain token goes on.
	must(l.RevokeToken(signedInAs(t, l, plain), tokenIDOf(portal)))
	s := must(l.GetSession(ctx, byPortal.Session.ID))
	if s.State != fairway.SessionInterrupted || !strings.Contains(s.Reason, "token "+tokenIDOf(portal)+" that attached it was revoked by alice") {
		t.Fatalf("the session the revoked token attached: %s (%s), want interrupted naming the token", s.State, s.Reason)
	}
	if s := must(l.GetSession(ctx, byPlain.Session.ID)); s.State != fairway.SessionAttached {
		t.Fatalf("the session alice's other token attached: %s (%s), want attached", s.State, s.Reason)
	}
	if s := must(l.GetSession(ctx, byAgent.Session.ID)); s.State != fairway.SessionAttached {
		t.Fatalf("codex's session: %s, want attached", s.State)
	}
	// Its credential is refused for everything, saying why.
	_, _, err := ledger.TokenAuth{L: l}.Authenticate(ctx, byPortal.Token)
	if fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "attached with token "+tokenIDOf(portal)) || !strings.Contains(err.Error(), "was revoked") {
		t.Fatalf("the ended session's credential: %v, want unauthorized naming the revoked token", err)
	}
	// alice's other credential cannot heartbeat, observe or detach it back
	// to life: the session ended.
	other := signedInAs(t, l, plain)
	if _, err := l.HeartbeatSession(other, byPortal.Session.ID); fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "is interrupted") {
		t.Fatalf("a heartbeat of the ended session with another token: %v, want forbidden, interrupted", err)
	}
	if _, err := l.ObserveSession(other, fairway.SessionObserve{Session: byPortal.Session.ID, Source: fairway.SourceHook, Detail: "still here"}); err != nil {
		// A human may record what an ended session's process did, but
		// that does not revive it.
		t.Fatalf("a human's observation of an ended session: %v", err)
	}
	if s := must(l.GetSession(ctx, byPortal.Session.ID)); s.State != fairway.SessionInterrupted {
		t.Fatalf("after an observation the session is %s, want still interrupted", s.State)
	}
	// The revocation's event counts the sessions it ended; each ending
	// is its own session.interrupt event.
	events := must(l.AuditLog(ctx, fairway.AuditFilter{Limit: 10000}))
	var revoke, interrupt *fairway.AuditEvent
	for _, e := range events {
		switch {
		case e.Action == "token.revoke.one":
			revoke = e
		case e.Action == "session.interrupt" && e.Subject == byPortal.Session.ID:
			interrupt = e
		}
	}
	if revoke == nil || !strings.Contains(string(revoke.Change), `"sessions_ended":1`) || interrupt == nil || interrupt.Seq != revoke.Seq-1 {
		t.Fatalf("audit: revoke %+v, interrupt %+v; want the session's interrupt then the revocation counting it", revoke, interrupt)
	}

	// An agent revoking its own token ends its session too; a write with
	// the session's credential made before the revocation is fenced.
	stale := signedInAs(t, l, byAgent.Token)
	must(l.RevokeToken(signedInAs(t, l, agent), tokenIDOf(agent)))
	if _, err := l.HeartbeatSession(stale, byAgent.Session.ID); fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "was revoked") {
		t.Fatalf("a heartbeat authenticated before the revocation: %v, want fenced", err)
	}
	if _, err := l.AddClaim(stale, fairway.ClaimAdd{Task: "OPS-FIX-020", Text: "tests pass"}); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("a claim through the ended session: %v, want forbidden", err)
	}
	if _, err := l.AddEvidence(stale, fairway.EvidenceAdd{Task: "OPS-FIX-020", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("ok\n")}); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("evidence through the ended session: %v, want forbidden", err)
	}
	if v := must(l.VerifyAudit(ctx)); !v.OK {
		t.Fatalf("audit verify: %+v", v)
	}
}

// A request authenticated with a token that is revoked before its write
// runs (a race with the revocation) attaches no session: the write reads
// the token again in its transaction.
func TestToken_AttachRacingTheRevocationOfItsTokenIsRefused(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-023", Title: "work"}))
	agent := must(l.RotateToken(as("alice"), "codex", 0)).Token
	authenticated := signedInAs(t, l, agent)
	must(l.RevokeToken(as("alice"), tokenIDOf(agent)))
	_, err := l.AttachSession(authenticated, fairway.SessionAttach{Task: "OPS-FIX-023", Provider: "codex"})
	if fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "token "+tokenIDOf(agent)+" of codex was revoked") {
		t.Fatalf("attach with a token revoked after it was authenticated: %v, want unauthorized, revoked", err)
	}
	if live := must(l.ListSessions(ctx, fairway.SessionFilter{Task: "OPS-FIX-023", Live: true})); len(live) != 0 {
		t.Fatalf("sessions after the refused attach: %d, want none", len(live))
	}
}

// Signing out of the portal revokes the sign-in's token, and ends the
// sessions it attached like any revocation.
func TestToken_SigningOutEndsTheSessionsTheSignInAttached(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-024", Title: "work"}))
	portal := signInWithLink(t, l, "alice", 0)
	att := must(l.AttachSession(signedInAs(t, l, portal), fairway.SessionAttach{Task: "OPS-FIX-024", Provider: "browser"}))
	if err := l.SignOut(ctx, portal); err != nil {
		t.Fatal(err)
	}
	if s := must(l.GetSession(ctx, att.Session.ID)); s.State != fairway.SessionInterrupted || !strings.Contains(s.Reason, "signed out") {
		t.Fatalf("after sign-out the session is %s (%s), want interrupted by the sign-out", s.State, s.Reason)
	}
}

// A session whose attaching token expired is over, even for the actor's
// other credential, which could otherwise heartbeat it on.
func TestToken_ASessionEndsWhenItsTokenExpires(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-025", Title: "work"}))
	plain := must(l.RotateToken(as("alice"), "alice", 0)).Token
	portal := signInWithLink(t, l, "alice", time.Hour)
	att := must(l.AttachSession(signedInAs(t, l, portal), fairway.SessionAttach{Task: "OPS-FIX-025", Provider: "browser", LeaseTTL: 2 * time.Hour}))
	now = now.Add(time.Hour)
	_, err := l.HeartbeatSession(signedInAs(t, l, plain), att.Session.ID)
	if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "credential expired at 2026-11-30T10:00:00Z") {
		t.Fatalf("a heartbeat with another token after the attaching one expired: %v, want forbidden, expired", err)
	}
	s := must(l.GetSession(ctx, att.Session.ID))
	if s.State != fairway.SessionExpired {
		t.Fatalf("the session is %s (%s), want expired", s.State, s.Reason)
	}
	// The task is free for a new session.
	must(l.AttachSession(signedInAs(t, l, plain), fairway.SessionAttach{Task: "OPS-FIX-025", Provider: "shell"}))
}

// Revoking all of an actor's tokens, or rotating them, ends its sessions;
// the credential of a session attached without a token (local mode) stops
// with them too, for reads and event streams as for writes, as the
// credential of a session a revoked token attached does.
func TestToken_CuttingAnActorsTokensStopsTheCredentialsOfItsSessions(t *testing.T) {
	ctx := context.Background()
	for _, cut := range []struct {
		name string
		do   func(l *ledger.Ledger) error
	}{
		{"revoke --all", func(l *ledger.Ledger) error { _, err := l.RevokeTokens(as("alice"), "codex"); return err }},
		{"rotate", func(l *ledger.Ledger) error { _, err := l.RotateToken(as("alice"), "codex", 0); return err }},
	} {
		t.Run(cut.name, func(t *testing.T) {
			l := MustOpenLedger(t)
			setUp(t, l, false)
			must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-026", Title: "work"}))
			local := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-026", Provider: "shell"}))
			if _, _, err := (ledger.TokenAuth{L: l}).Authenticate(ctx, local.Token); err != nil {
				t.Fatalf("before: %v", err)
			}
			if err := cut.do(l); err != nil {
				t.Fatal(err)
			}
			if s := must(l.GetSession(ctx, local.Session.ID)); s.State != fairway.SessionInterrupted {
				t.Fatalf("the session is %s, want interrupted", s.State)
			}
			_, _, err := ledger.TokenAuth{L: l}.Authenticate(ctx, local.Token)
			if fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "session "+local.Session.ID) || !strings.Contains(err.Error(), "were revoked") {
				t.Fatalf("the ended session's credential after %s: %v, want unauthorized, saying the session's credentials were revoked", cut.name, err)
			}
			if v := must(l.VerifyAudit(ctx)); !v.OK {
				t.Fatalf("audit verify: %+v", v)
			}
		})
	}
}

// A write whose request was authenticated with a token that was revoked
// before the write's transaction (a race with the revocation) is
// refused, whatever it writes, and the refusal is audited: a revoked
// token stops at once (R1), not only for attaching sessions.
func TestToken_AWriteRacingTheRevocationOfItsTokenIsRefused(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-027", Title: "work"}))
	plain := must(l.RotateToken(as("alice"), "omar", 0)).Token
	authenticated := signedInAs(t, l, plain)
	must(l.RevokeToken(as("alice"), tokenIDOf(plain)))
	writes := map[string]func() error{
		"task create": func() error {
			return ignore(l.CreateTask(authenticated, fairway.TaskCreate{Key: "OPS-FIX-028", Title: "more"}))
		},
		"claim": func() error {
			return ignore(l.AddClaim(authenticated, fairway.ClaimAdd{Task: "OPS-FIX-027", Text: "looked at it"}))
		},
		"cancel": func() error { return ignore(l.CancelTask(authenticated, "OPS-FIX-027", "not needed")) },
	}
	for name, write := range writes {
		before := len(must(l.AuditLog(ctx, fairway.AuditFilter{Limit: 10000})))
		err := write()
		if fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "token "+tokenIDOf(plain)+" of omar was revoked") {
			t.Fatalf("%s with a token revoked after it was authenticated: %v, want unauthorized, revoked", name, err)
		}
		events := must(l.AuditLog(ctx, fairway.AuditFilter{Limit: 10000}))
		if len(events) != before+1 || !strings.HasSuffix(events[len(events)-1].Action, ".refused") {
			t.Fatalf("%s: %d events written, want the refusal only", name, len(events)-before)
		}
	}
	if task := must(l.GetTask(ctx, "OPS-FIX-027")); task.Status != fairway.StatusOpen {
		t.Fatalf("OPS-FIX-027 is %s, want open", task.Status)
	}
}

// Revoking a token by id also ends its actor's sessions that record no
// token (attached before sessions recorded one) and were attached while
// the token existed: they may have been attached with it. A session
// attached before the token was issued goes on.
func TestToken_RevokingATokenEndsItsActorsSessionsWithoutARecordedToken(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	for _, k := range []string{"OPS-FIX-040", "OPS-FIX-041", "OPS-FIX-042"} {
		must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: k, Title: "work"}))
	}
	agent := must(l.RotateToken(as("alice"), "codex", 0)).Token
	unknown := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-040", Provider: "codex"}))
	if unknown.Session.TokenID != "" {
		t.Fatalf("a session attached without a token records %q", unknown.Session.TokenID)
	}
	before := must(l.AttachSession(as("alice"), fairway.SessionAttach{Task: "OPS-FIX-041", Provider: "shell"}))
	portal := signInWithLink(t, l, "alice", 0)

	must(l.RevokeToken(as("alice"), tokenIDOf(agent)))
	s := must(l.GetSession(ctx, unknown.Session.ID))
	if s.State != fairway.SessionInterrupted || !strings.Contains(s.Reason, "token "+tokenIDOf(agent)+" of codex was revoked by alice, and the session records no token") {
		t.Fatalf("codex's session with no recorded token: %s (%s), want interrupted saying why", s.State, s.Reason)
	}
	must(l.RevokeToken(as("alice"), tokenIDOf(portal)))
	if s := must(l.GetSession(ctx, before.Session.ID)); s.State != fairway.SessionAttached {
		t.Fatalf("alice's session attached before the revoked token was issued: %s (%s), want attached", s.State, s.Reason)
	}
	if v := must(l.VerifyAudit(ctx)); !v.OK {
		t.Fatalf("audit verify: %+v", v)
	}
}
