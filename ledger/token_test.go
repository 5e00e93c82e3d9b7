package ledger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/ledger"
)

// signInWithLink spends a fresh login link of name, asking for a sign-in
// of sessionTTL (0: the default), and returns the token it yields.
func signInWithLink(t *testing.T, l *ledger.Ledger, name string, sessionTTL time.Duration) string {
	t.Helper()
	link := must(l.IssueLoginLink(as(name), ledger.LoginLinkTTL, sessionTTL))
	return must(l.RedeemLoginLink(context.Background(), link.Link)).Token
}

// A login link's token expires after its sign-in's life (12h unless the
// link asked otherwise), also while the ledger keeps it in memory, and
// the refusal says it expired and how to get a new one. An ordinary
// token does not expire.
func TestToken_LoginLinkTokenExpiresEvenWhileKept(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	plain := must(l.RotateToken(as("alice"), "omar", 0)).Token
	token := signInWithLink(t, l, "alice", 0)
	short := signInWithLink(t, l, "alice", 2*time.Hour)
	for _, tok := range []string{token, short, plain} {
		if _, err := l.Authenticate(ctx, tok); err != nil {
			t.Fatalf("a fresh token: %v", err)
		}
	}
	// The lookups above are kept (no write since): expiry must hold anyway.
	now = now.Add(2 * time.Hour)
	_, err := l.Authenticate(ctx, short)
	if fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "expired at 2026-11-30T11:00:00Z") ||
		!strings.Contains(err.Error(), "fairway portal login-link --as alice") {
		t.Fatalf("a 2h sign-in after 2h: %v, want EUNAUTHORIZED saying it expired and how to get a new link", err)
	}
	if _, _, err := (ledger.TokenAuth{L: l}).Authenticate(ctx, short); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("the server's authenticator on an expired token: %v", err)
	}
	now = now.Add(10*time.Hour - time.Nanosecond)
	if _, err := l.Authenticate(ctx, token); err != nil {
		t.Fatalf("a 12h sign-in a moment before 12h: %v", err)
	}
	now = now.Add(time.Nanosecond)
	if _, err := l.Authenticate(ctx, token); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("a 12h sign-in at 12h: %v, want expired", err)
	}
	now = now.Add(365 * 24 * time.Hour)
	if a, err := l.Authenticate(ctx, plain); err != nil || a.Name != "omar" {
		t.Fatalf("an ordinary token a year on: %v %v, want it still works", a, err)
	}
	// An expired token acts on nothing in server mode: the request never
	// reaches a write; listing shows it expired, until someone revokes it.
	list := must(l.ListTokens(as("alice"), "alice"))
	if len(list) != 2 || !list[0].Expired(now) || !list[1].Expired(now) || !list[0].FromLoginLink {
		t.Fatalf("alice's tokens = %+v, want the two expired sign-ins", list)
	}
}

// A sign-in's life is bounded: too short or too long is refused, saying
// what is allowed, and nothing is written.
func TestToken_SessionTTLBounds(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, false)
	before := auditLen(t, l)
	for _, ttl := range []time.Duration{time.Minute, -time.Hour, 8 * 24 * time.Hour} {
		_, err := l.IssueLoginLink(as("alice"), ledger.LoginLinkTTL, ttl)
		if fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), "session-ttl") || !strings.Contains(err.Error(), "between 5m0s and 168h0m0s") {
			t.Errorf("session-ttl %s: %v, want EINVALID naming the bounds", ttl, err)
		}
	}
	if n := auditLen(t, l); n != before {
		t.Fatalf("refused links wrote %d events", n-before)
	}
	link := must(l.IssueLoginLink(as("alice"), ledger.LoginLinkTTL, 7*24*time.Hour))
	got := must(l.RedeemLoginLink(context.Background(), link.Link))
	k := must(l.ListTokens(as("alice"), ""))
	if len(k) != 1 || k[0].ID != fairway.TokenID(ledger.HashToken(got.Token)) || k[0].ExpiresAt.Sub(k[0].CreatedAt) != 7*24*time.Hour {
		t.Fatalf("the 7-day sign-in's token = %+v", k)
	}
}

// One token is revoked by its id: it stops at once (also kept in memory)
// while its actor's other tokens go on; the revocation is audited and
// witnessed; who may revoke is who may revoke all of them.
func TestToken_RevokeOneByID(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	omar1 := must(l.RotateToken(as("alice"), "omar", 0)).Token
	omar2 := signInWithLink(t, l, "omar", 0)
	codex := must(l.RotateToken(as("alice"), "codex", 0)).Token
	for _, tok := range []string{omar1, omar2, codex} {
		must(l.Authenticate(ctx, tok)) // kept in memory from here
	}
	id := fairway.TokenID(ledger.HashToken(omar2))
	list := must(l.ListTokens(as("codex"), "omar"))
	if len(list) != 2 || list[1].ID != id || list[0].ID != fairway.TokenID(ledger.HashToken(omar1)) {
		t.Fatalf("omar's tokens = %+v", list)
	}
	for _, k := range list {
		if strings.Contains(k.ID, omar1) || len(k.ID) != 16 {
			t.Fatalf("a listed id holds more than an id: %q", k.ID)
		}
	}

	// The attacks: an agent revoking a human's token, a human through a
	// session credential, the id of a login link, an actor's name.
	if _, err := l.RevokeToken(as("codex"), id); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("an agent revoking omar's token: %v, want forbidden", err)
	}
	if _, err := l.RevokeToken(withSession(l, "omar"), id); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("omar revoking his token with a session credential: %v, want forbidden", err)
	}
	link := must(l.IssueLoginLink(as("omar"), ledger.LoginLinkTTL, 0))
	if _, err := l.RevokeToken(as("omar"), fairway.TokenID(ledger.HashToken(link.Link))); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatalf("a login link's id: %v, want not found", err)
	}
	before := auditLen(t, l)
	for _, bad := range []string{"omar", "", strings.Repeat("a", 15), strings.Repeat("A", 16), id + "0", "../../x"} {
		if _, err := l.RevokeToken(as("omar"), bad); fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), "not a token id") {
			t.Errorf("revoking %q: %v, want EINVALID", bad, err)
		}
	}
	if n := auditLen(t, l); n != before {
		t.Fatalf("malformed ids wrote %d events", n-before)
	}
	if _, err := l.Authenticate(ctx, omar2); err != nil {
		t.Fatalf("omar's sign-in after refused revocations: %v", err)
	}

	k := must(l.RevokeToken(as("alice"), id))
	if k.ID != id || k.Actor != "omar" || k.RevokedAt.IsZero() {
		t.Fatalf("revoked = %+v", k)
	}
	if _, err := l.Authenticate(ctx, omar2); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("the revoked token: %v, want EUNAUTHORIZED", err)
	}
	if a, err := l.Authenticate(ctx, omar1); err != nil || a.Name != "omar" {
		t.Fatalf("omar's other token: %v %v, want it to go on", a, err)
	}
	if _, err := l.RevokeToken(as("alice"), id); fairway.ErrorCode(err) != fairway.ECONFLICT || !strings.Contains(err.Error(), "revoked already") {
		t.Fatalf("revoking it again: %v, want conflict", err)
	}
	// An agent revokes its own token.
	must(l.RevokeToken(as("codex"), fairway.TokenID(ledger.HashToken(codex))))
	if _, err := l.Authenticate(ctx, codex); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("codex's own revoked token: %v", err)
	}

	var actions []string
	for _, e := range must(l.AuditLog(ctx, fairway.AuditFilter{Subject: "omar"})) {
		if strings.HasPrefix(e.Action, "token.revoke.one") {
			actions = append(actions, e.Action+" by "+e.Actor)
		}
	}
	if want := "token.revoke.one.refused by codex, token.revoke.one.refused by omar, token.revoke.one by alice"; strings.Join(actions, ", ") != want {
		t.Errorf("audited = %s\nwant      %s", strings.Join(actions, ", "), want)
	}
	if v := must(l.VerifyAudit(ctx)); !v.OK {
		t.Fatalf("audit verify after revoking one token: %+v", v)
	}
}

// Signing out revokes a login link's token only when the one who signs
// out holds it; an unknown or already revoked token is nothing to do.
func TestToken_SignOut(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	plain := must(l.RotateToken(as("alice"), "omar", 0)).Token
	portal := signInWithLink(t, l, "omar", 0)
	if err := l.SignOut(ctx, portal); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(ctx, portal); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("after sign-out: %v", err)
	}
	for _, tok := range []string{portal, plain, "fw_nothing"} {
		if err := l.SignOut(ctx, tok); err != nil {
			t.Fatalf("sign out with %.6s…: %v", tok, err)
		}
	}
	if _, err := l.Authenticate(ctx, plain); err != nil {
		t.Fatalf("omar's own token after a sign-out with it: %v", err)
	}
	n := 0
	for _, e := range must(l.AuditLog(ctx, fairway.AuditFilter{Subject: "omar"})) {
		if e.Action == "token.signout" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d sign-out events, want 1", n)
	}
	if v := must(l.VerifyAudit(ctx)); !v.OK {
		t.Fatalf("audit verify: %+v", v)
	}
}

// withToken authenticates a bearer token as the server does.
func withToken(t *testing.T, l *ledger.Ledger, token string) context.Context {
	t.Helper()
	a, auth, err := ledger.TokenAuth{L: l}.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return fairway.NewContextWithAuth(fairway.NewContextWithActor(context.Background(), a), auth)
}

// Signing out ends what the sign-in issued: the tokens issued with the
// portal token, and those issued in turn with them, are revoked (each an
// audited event); an identity provider's sign-in, which cannot itself be
// revoked, ends what it issued too. Tokens issued otherwise go on.
func TestToken_SignOutEndsWhatTheSignInIssued(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	cli := must(l.RotateToken(as("alice"), "alice", 0)).Token
	pTok := signInWithLink(t, l, "alice", 0)
	portal := withToken(t, l, pTok)
	agent := must(l.RotateToken(portal, "codex", 0)).Token
	svc := must(l.CreateActor(portal, fairway.ActorCreate{Name: "deployer", Kind: fairway.KindService, IssueToken: true})).Token
	second := must(l.CreateActor(withToken(t, l, svc), fairway.ActorCreate{Name: "codex-2", Kind: fairway.KindAgent, IssueToken: true})).Token
	other := must(l.CreateActor(withToken(t, l, cli), fairway.ActorCreate{Name: "codex-3", Kind: fairway.KindAgent, IssueToken: true})).Token

	// A sign-in through the identity provider: its token is not Fairway's.
	idToken := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"
	oidc := fairway.NewContextWithAuth(as("alice"), &fairway.Auth{CredentialID: fairway.TokenID(ledger.HashToken(idToken))})
	fromOIDC := must(l.CreateActor(oidc, fairway.ActorCreate{Name: "codex-4", Kind: fairway.KindAgent, IssueToken: true})).Token

	if err := l.SignOut(ctx, fairway.AuthFromContext(portal).TokenID); err != nil {
		t.Fatal(err) // an id is not the token: nothing to do
	}
	for _, tok := range []string{agent, svc, second} {
		if _, err := l.Authenticate(ctx, tok); err != nil {
			t.Fatalf("before sign-out: %v", err)
		}
	}
	if err := l.SignOut(ctx, pTok); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"the portal's": pTok, "codex's": agent, "deployer's": svc, "codex-2's (issued by deployer's)": second} {
		if _, err := l.Authenticate(ctx, tok); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
			t.Errorf("%s token after sign-out: %v, want EUNAUTHORIZED", name, err)
		}
	}
	for name, tok := range map[string]string{"alice's own": cli, "codex-3's (issued with alice's own)": other, "codex-4's (issued through the identity provider)": fromOIDC} {
		if _, err := l.Authenticate(ctx, tok); err != nil {
			t.Errorf("%s token after the portal sign-out: %v, want it still works", name, err)
		}
	}
	// A person's own token is not a sign-in, live or not: signing out
	// with it ends nothing it issued.
	if _, err := l.RevokeToken(as("alice"), tokenIDOf(cli)); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{cli, other} {
		if err := l.SignOut(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Authenticate(ctx, other); err != nil {
		t.Errorf("codex-3's token after a sign-out with alice's revoked own token: %v, want it still works", err)
	}
	if err := l.SignOut(ctx, idToken); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(ctx, fromOIDC); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Errorf("codex-4's token after the identity provider's sign-out: %v, want EUNAUTHORIZED", err)
	}

	var got []string
	for _, e := range must(l.AuditLog(ctx, fairway.AuditFilter{})) {
		if e.Action == "token.signout" || e.Action == "token.revoke.one" {
			got = append(got, e.Action+" "+e.Subject+" by "+e.Actor)
		}
	}
	want := "token.revoke.one codex by alice, token.revoke.one deployer by alice, token.revoke.one codex-2 by alice, token.signout alice by alice, token.revoke.one alice by alice, token.revoke.one codex-4 by alice, token.signout alice by alice"
	if strings.Join(got, ", ") != want {
		t.Errorf("audited = %s\nwant      %s", strings.Join(got, ", "), want)
	}
	if v := must(l.VerifyAudit(ctx)); !v.OK {
		t.Fatalf("audit verify: %+v", v)
	}
}

// An ordinary token expires only when asked: token rotate --ttl, within
// bounds; its expiry is in the audit event and witnessed by audit verify.
func TestToken_RotateWithTTL(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	before := auditLen(t, l)
	for _, ttl := range []time.Duration{-time.Hour, time.Minute, 367 * 24 * time.Hour} {
		if _, err := l.RotateToken(as("alice"), "codex", ttl); fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), "ttl") {
			t.Errorf("rotate with ttl %s: %v, want EINVALID", ttl, err)
		}
	}
	if n := auditLen(t, l); n != before {
		t.Fatalf("refused rotations wrote %d events", n-before)
	}
	out := must(l.RotateToken(as("alice"), "codex", 720*time.Hour))
	if !out.TokenExpiresAt.Equal(now.Add(720 * time.Hour)) {
		t.Fatalf("expires at %s", out.TokenExpiresAt)
	}
	events := must(l.AuditLog(ctx, fairway.AuditFilter{Subject: "codex"}))
	if last := events[len(events)-1]; last.Action != "token.rotate" || !strings.Contains(string(last.Change), `"token_expires_at":"2026-12-30T09:00:00Z"`) {
		t.Fatalf("the rotation's event: %s %s", last.Action, last.Change)
	}
	if v := must(l.VerifyAudit(ctx)); !v.OK {
		t.Fatalf("audit verify: %+v", v)
	}
	now = now.Add(720 * time.Hour)
	if _, err := l.Authenticate(ctx, out.Token); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "fairway token rotate codex") {
		t.Fatalf("after 720h: %v, want expired", err)
	}
}

// signedInAs authenticates token as the server does and returns the
// context its request would carry.
func signedInAs(t *testing.T, l *ledger.Ledger, token string) context.Context {
	t.Helper()
	a, au, err := ledger.TokenAuth{L: l}.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	ctx := fairway.NewContextWithActor(context.Background(), a)
	if au != nil {
		ctx = fairway.NewContextWithAuth(ctx, au)
	}
	return ctx
}

// A credential that expires cannot mint one that outlives it: a token
// it issues (rotating its own actor's, creating an actor with one)
// expires when it does, and it gets no login link, whose sign-in would
// start later. Otherwise a one-hour portal sign-in, or a copy of its
// cookie, would become a token that never expires.
func TestToken_AnExpiringCredentialMintsNothingThatOutlivesIt(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	until := now.Add(time.Hour)
	signIn := signedInAs(t, l, signInWithLink(t, l, "alice", time.Hour))

	if _, err := l.IssueLoginLink(signIn, ledger.LoginLinkTTL, 0); fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "expires at 2026-11-30T10:00:00Z") {
		t.Fatalf("a login link from a 1h sign-in: %v, want forbidden saying the sign-in expires", err)
	}
	agent := must(l.CreateActor(signIn, fairway.ActorCreate{Name: "gemini", Kind: fairway.KindAgent, IssueToken: true}))
	service := must(l.RotateToken(signIn, "ci", 0))
	longer := must(l.RotateToken(signIn, "codex", 48*time.Hour))
	shorter := must(l.RotateToken(signIn, "omar", 30*time.Minute))
	if !service.TokenExpiresAt.Equal(until) || !longer.TokenExpiresAt.Equal(until) || !shorter.TokenExpiresAt.Equal(now.Add(30*time.Minute)) {
		t.Fatalf("rotated from a 1h sign-in: never → %v, 48h → %v, 30m → %v; want %v, %v, %v",
			service.TokenExpiresAt, longer.TokenExpiresAt, shorter.TokenExpiresAt, until, until, now.Add(30*time.Minute))
	}
	// A service given a 1h token cannot renew itself past it either.
	fromService := must(l.RotateToken(signedInAs(t, l, service.Token), "ci", 0))
	if !fromService.TokenExpiresAt.Equal(until) {
		t.Fatalf("a 1h service token rotating itself: expires %v, want %v", fromService.TokenExpiresAt, until)
	}
	own := must(l.RotateToken(signIn, "alice", 0))
	now = until
	for name, tok := range map[string]string{"created agent": agent.Token, "rotated 48h": longer.Token, "service's own": fromService.Token, "alice's own": own.Token} {
		if _, err := l.Authenticate(ctx, tok); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
			t.Errorf("the %s token at the sign-in's expiry: %v, want expired", name, err)
		}
	}
	if v := must(l.VerifyAudit(ctx)); !v.OK {
		t.Fatalf("audit verify: %+v", v)
	}
}

// A session credential is issued under the token that attached the
// session and expires with it: heartbeats keep the lease, not the
// credential, alive past the token's expiry.
func TestToken_SessionCredentialExpiresWithItsToken(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-010", Title: "work"}))
	short := must(l.RotateToken(as("alice"), "codex", time.Hour))
	att := must(l.AttachSession(signedInAs(t, l, short.Token), fairway.SessionAttach{Task: "OPS-FIX-010", Provider: "codex"}))
	if !att.Session.CredentialExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("the session's credential expires at %v, want the token's %v", att.Session.CredentialExpiresAt, now.Add(time.Hour))
	}
	for range 14 {
		now = now.Add(4 * time.Minute)
		if _, err := l.HeartbeatSession(signedInAs(t, l, att.Token), att.Session.ID); err != nil {
			t.Fatalf("a heartbeat before the token's expiry: %v", err)
		}
	}
	now = now.Add(4 * time.Minute) // the lease still runs; the token has ended
	_, _, err := ledger.TokenAuth{L: l}.Authenticate(ctx, att.Token)
	if fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "expired at 2026-11-30T10:00:00Z") || !strings.Contains(err.Error(), "fairway token rotate codex") {
		t.Fatalf("the session credential at its token's expiry: %v, want unauthorized saying it expired and how to get a token", err)
	}
	// A session attached with a token that does not expire keeps going:
	// a day on, only its lease (not kept up here) has run out.
	plain := must(l.RotateToken(as("alice"), "codex", 0))
	att = must(l.AttachSession(signedInAs(t, l, plain.Token), fairway.SessionAttach{Task: "OPS-FIX-010", Provider: "codex"}))
	if _, _, err := (ledger.TokenAuth{L: l}).Authenticate(ctx, att.Token); err != nil {
		t.Fatalf("a session credential under a token that never expires: %v", err)
	}
	now = now.Add(24 * time.Hour)
	if _, _, err := (ledger.TokenAuth{L: l}).Authenticate(ctx, att.Token); fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "lease ran out") {
		t.Fatalf("a session credential under a token that never expires, a day on without a heartbeat: %v, want its lease ran out", err)
	}
}
