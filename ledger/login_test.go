package ledger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/ledger"
)

// TestLoginLink_OneTimeShortLivedHashedAudited: a human gets a link for
// itself; it signs in once, within its life; only its hash is kept; the
// issue, the redemption and every refusal are in the audit log; agents
// get none (R1); the token it yields is witnessed by the log (R8).
func TestLoginLink_OneTimeShortLivedHashedAudited(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	asActor := as
	if _, err := l.IssueLoginLink(withSession(l, "alice"), ledger.LoginLinkTTL, 0); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("a login link with a session credential: %v", err)
	}

	if _, err := l.IssueLoginLink(asActor("codex"), ledger.LoginLinkTTL, 0); fairway.ErrorCode(err) != fairway.EFORBIDDEN ||
		!strings.Contains(err.Error(), "only a human can get a portal login link") {
		t.Fatalf("agent's login link: %v", err)
	}
	if _, err := l.IssueLoginLink(asActor("alice"), 2*time.Hour, 0); fairway.ErrorCode(err) != fairway.EINVALID {
		t.Fatalf("a two-hour link: %v, want EINVALID", err)
	}
	link, err := l.IssueLoginLink(asActor("alice"), ledger.LoginLinkTTL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link.Link, ledger.LoginLinkPrefix) || link.Actor != "alice" || !link.ExpiresAt.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("link = %+v", link)
	}
	// A link is not a bearer token.
	if _, _, err := (ledger.TokenAuth{L: l}).Authenticate(ctx, link.Link); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("the link as a bearer token: %v", err)
	}
	got, err := l.RedeemLoginLink(ctx, link.Link)
	if err != nil || got.Actor.Name != "alice" || got.Token == "" {
		t.Fatalf("redeem = %+v %v", got, err)
	}
	if a, _, err := (ledger.TokenAuth{L: l}).Authenticate(ctx, got.Token); err != nil || a.Name != "alice" {
		t.Fatalf("the token a link yields: %v %v", a, err)
	}
	if _, err := l.RedeemLoginLink(ctx, link.Link); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "used already") {
		t.Fatalf("a link used twice: %v", err)
	}
	late, err := l.IssueLoginLink(asActor("alice"), time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := l.RedeemLoginLink(ctx, late.Link); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired link: %v", err)
	}
	evs, err := l.AuditLog(asActor("alice"), fairway.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		if strings.HasPrefix(e.Action, "login.") {
			actions = append(actions, e.Action)
		}
		for _, secret := range []string{link.Link, late.Link, got.Token} {
			if strings.Contains(string(e.Change), secret) {
				t.Fatalf("event %d (%s) holds a secret", e.Seq, e.Action)
			}
		}
	}
	want := "login.link.refused login.link.refused login.link login.redeem login.redeem.refused login.link login.redeem.refused"
	if strings.Join(actions, " ") != want {
		t.Errorf("audited = %s\nwant      %s", strings.Join(actions, " "), want)
	}
	v, err := l.VerifyAudit(asActor("alice"))
	if err != nil || !v.OK {
		t.Fatalf("audit verify after login links: %+v %v", v, err)
	}
}
