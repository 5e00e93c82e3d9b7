package ledger_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
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

// A login link is what the audit event that issued it says (R8): a link
// row written into the database file, or a real one whose life, sign-in
// life or issuer was changed there, signs no one in. Otherwise whoever
// can write the file mints a human's token through a genuine redemption,
// and audit verify finds nothing, since that redemption's event issues
// the token.
func TestLoginLink_ARowWrittenBehindTheLedgerSignsNoOneIn(t *testing.T) {
	forged := ledger.LoginLinkPrefix + strings.Repeat("ab", 32)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name, sql, link, want string
	}{
		{"a link slipped in", `INSERT INTO tokens (hash, id, actor, created_at, login, expires_at, token_ttl, issued_by) VALUES ('` +
			ledger.HashToken(forged) + `', '` + fairway.TokenID(ledger.HashToken(forged)) + `', 'alice', 1, 1, ` +
			fmt.Sprint(now.Add(time.Hour).UnixNano()) + `, 604800000000000, 'alice')`, forged, "no audit event issued it"},
		{"a link's life stretched", `UPDATE tokens SET expires_at = expires_at + 3600000000000 WHERE login = 1`, "", "issued it until"},
		{"a link's sign-in stretched", `UPDATE tokens SET token_ttl = 604800000000000 WHERE login = 1`, "", "for a sign-in of 12h0m0s"},
		{"a link's issuer rewritten", `UPDATE tokens SET issued_by = 'omar' WHERE login = 1`, "", "issued it by alice"},
		{"a spent link revived", `UPDATE tokens SET revoked_at = 0 WHERE login = 1`, "spent", "spent it already"},
		{"a link given to another", `UPDATE tokens SET actor = 'omar' WHERE login = 1`, "", "no audit event issued it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			open := func() (*ledger.Ledger, func()) {
				l, closeStore := openLedgerIn(t, dir)
				clk := now
				l.Now = func() time.Time { return clk }
				return l, closeStore
			}
			l, closeStore := open()
			setUp(t, l, false)
			link := must(l.IssueLoginLink(as("alice"), ledger.LoginLinkTTL, 0))
			if c.link == "spent" {
				must(l.RedeemLoginLink(ctx, link.Link))
				c.link = ""
			}
			closeStore()
			db, err := sql.Open("sqlite", filepath.Join(dir, "fairway.db"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(c.sql); err != nil {
				t.Fatalf("%s: %v", c.sql, err)
			}
			db.Close()
			l, closeStore = open()
			defer closeStore()
			l.Now = func() time.Time { return now.Add(30 * time.Minute) }
			if c.link == "" {
				l.Now = func() time.Time { return now.Add(time.Minute) }
				if c.name == "a link's life stretched" {
					l.Now = func() time.Time { return now.Add(30 * time.Minute) }
				}
				c.link = link.Link
			}
			got, err := l.RedeemLoginLink(ctx, c.link)
			if fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), c.want) ||
				!strings.Contains(err.Error(), "fairway audit verify") {
				t.Fatalf("redeeming after %s: %+v %v, want a refusal naming %q", c.name, got, err, c.want)
			}
			redeemed := 0
			for _, e := range must(l.AuditLog(as("alice"), fairway.AuditFilter{Subject: "alice"})) {
				if e.Action == "login.redeem" {
					redeemed++
				}
			}
			if want := strings.Count(c.name, "spent"); redeemed != want {
				t.Fatalf("%d redemptions recorded, want %d", redeemed, want)
			}
			if v := must(l.VerifyAudit(ctx)); !v.OK {
				t.Fatalf("the refusal left the log unverifiable: %+v", v)
			}
		})
	}
}
