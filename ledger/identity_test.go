package ledger_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/sqlite"
)

// Two ledgers on one store file, as two processes or replicas: what one
// does to an actor or a token holds in the other from its very next
// request, though each keeps actors it has read in memory.
func TestIdentity_DisableAndRevokeHoldAcrossLedgersAtOnce(t *testing.T) {
	one, two := twoLedgers(t)
	testDisableAndRevoke(t, one, two)
}

// twoLedgers opens two ledgers on one store file.
func twoLedgers(t *testing.T) (*ledger.Ledger, *ledger.Ledger) {
	dir := t.TempDir()
	open := func() *ledger.Ledger {
		s, err := sqlite.Open(context.Background(), filepath.Join(dir, "fairway.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		return ledger.New(s, blobs)
	}
	return open(), open()
}

func testDisableAndRevoke(t *testing.T, one, two *ledger.Ledger) {
	must(one.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}))
	codex := must(one.CreateActor(as("alice"), fairway.ActorCreate{Name: "codex", Kind: fairway.KindAgent, IssueToken: true}))
	gemini := must(one.CreateActor(as("alice"), fairway.ActorCreate{Name: "gemini", Kind: fairway.KindAgent, IssueToken: true}))

	// The second ledger reads both agents and their tokens, twice, so
	// whatever it keeps is warm.
	for range 2 {
		for _, tok := range []string{codex.Token, gemini.Token} {
			a, err := two.Authenticate(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := two.CreateLane(as(a.Name), fairway.LaneCreate{Name: "lane-" + a.Name + "-" + tok[len(tok)-6:]}); err != nil && fairway.ErrorCode(err) != fairway.ECONFLICT {
				t.Fatal(err)
			}
		}
	}

	// Through the first: codex is disabled, gemini's token revoked.
	must(one.DisableActor(as("alice"), "codex", "replaced"))
	if n := must(one.RevokeTokens(as("alice"), "gemini")); n != 1 {
		t.Fatalf("revoked %d tokens, want 1", n)
	}

	// The second refuses both on the very next request.
	if _, err := two.CreateLane(as("codex"), fairway.LaneCreate{Name: "after-disable"}); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("disabled actor writing through the other ledger: %v, want unauthorized", err)
	}
	if _, err := two.Authenticate(context.Background(), codex.Token); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("disabled actor's token at the other ledger: %v, want unauthorized", err)
	}
	if _, err := two.Authenticate(context.Background(), gemini.Token); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("revoked token at the other ledger: %v, want unauthorized", err)
	}
	// gemini itself still acts (in local mode, no token), and a new token
	// works at once in the other ledger.
	if _, err := two.CreateLane(as("gemini"), fairway.LaneCreate{Name: "after-revoke"}); err != nil {
		t.Fatalf("gemini without a token: %v", err)
	}
	fresh := must(one.RotateToken(as("alice"), "gemini", 0))
	if a, err := two.Authenticate(context.Background(), fresh.Token); err != nil || a.Name != "gemini" {
		t.Fatalf("fresh token at the other ledger: %v %v", a, err)
	}

	// The same through one ledger: a disable is refused at its next write.
	// Both ledgers have just read gemini.
	if _, err := one.CreateLane(as("gemini"), fairway.LaneCreate{Name: "before-disable"}); err != nil {
		t.Fatal(err)
	}
	if _, err := two.CreateLane(as("gemini"), fairway.LaneCreate{Name: "before-disable-2"}); err != nil {
		t.Fatal(err)
	}
	must(two.DisableActor(as("alice"), "gemini", "replaced"))
	if _, err := two.CreateLane(as("gemini"), fairway.LaneCreate{Name: "after-disable-2"}); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("disabled actor writing through the same ledger: %v, want unauthorized", err)
	}
	if _, err := one.CreateLane(as("gemini"), fairway.LaneCreate{Name: "after-disable-3"}); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("disabled actor writing through the other ledger: %v, want unauthorized", err)
	}
	if _, err := two.Authenticate(context.Background(), fresh.Token); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("disabled actor's fresh token: %v, want unauthorized", err)
	}
}

// A session credential authenticates from memory once read, as tokens
// do, yet a session replaced or an actor disabled through another ledger
// on the same store holds at once: the replaced session's writes are
// fenced, the disabled actor's credential refused.
func TestIdentity_SessionCredentialsHoldAcrossLedgersAtOnce(t *testing.T) {
	one, two := twoLedgers(t)
	must(one.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}))
	must(one.CreateActor(as("alice"), fairway.ActorCreate{Name: "codex", Kind: fairway.KindAgent}))
	must(one.CreateActor(as("alice"), fairway.ActorCreate{Name: "claude", Kind: fairway.KindAgent}))
	must(one.CreateTask(as("alice"), fairway.TaskCreate{Key: "T-1", Title: "one", Risk: "low"}))
	must(one.CreateTask(as("alice"), fairway.TaskCreate{Key: "T-2", Title: "two", Risk: "low"}))
	old := must(one.AttachSession(as("codex"), fairway.SessionAttach{Task: "T-1", Provider: "shell"}))
	other := must(one.AttachSession(as("claude"), fairway.SessionAttach{Task: "T-2", Provider: "shell"}))

	// The second ledger authenticates both credentials and heartbeats
	// with them, twice, so what it keeps is warm.
	cred := func(l *ledger.Ledger, token string) (context.Context, error) {
		a, auth, err := ledger.TokenAuth{L: l}.Authenticate(context.Background(), token)
		if err != nil {
			return nil, err
		}
		return fairway.NewContextWithAuth(fairway.NewContextWithActor(context.Background(), a), auth), nil
	}
	var oldCtx context.Context
	for range 2 {
		for _, att := range []*fairway.AttachedSession{old, other} {
			ctx, err := cred(two, att.Token)
			if err != nil {
				t.Fatal(err)
			}
			if att == old {
				oldCtx = ctx
			}
			if auth := fairway.AuthFromContext(ctx); auth.Session != att.Session.ID || auth.Generation != att.Session.Generation {
				t.Fatalf("credential of %s authenticated as %+v", att.Session.ID, auth)
			}
			must(two.HeartbeatSession(ctx, att.Session.ID))
		}
	}

	// Through the first: codex's session is replaced, claude disabled.
	repl := must(one.AttachSession(as("alice"), fairway.SessionAttach{Task: "T-1", Provider: "shell", Replace: old.Session.ID}))
	must(one.DisableActor(as("alice"), "claude", "replaced"))

	// The second: the old credential is refused as its session's
	// writes are (replaced), and its kept heartbeat context is fenced;
	// the replacement's works; the disabled actor's credential is refused.
	if _, err := cred(two, old.Token); fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "is replaced") {
		t.Fatalf("replaced session's credential through the other ledger: %v, want forbidden, replaced", err)
	}
	if _, err := two.HeartbeatSession(oldCtx, old.Session.ID); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("replaced session's heartbeat through the other ledger: %v, want forbidden", err)
	}
	ctx, err := cred(two, repl.Token)
	if err != nil {
		t.Fatal(err)
	}
	must(two.HeartbeatSession(ctx, repl.Session.ID))
	if _, err := cred(two, other.Token); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("disabled actor's session credential at the other ledger: %v, want unauthorized", err)
	}
	if _, err := cred(one, other.Token); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("disabled actor's session credential at the same ledger: %v, want unauthorized", err)
	}
}

// An identity provider's token selects only the actor bound to its
// issuer and subject: a name it carries never binds or selects an
// existing actor, only appears in the refusal. A human binds an identity
// explicitly (audited); agents and session credentials cannot; a binding
// holds, and an identity bound to one actor cannot be bound to another.
func TestIdentity_OIDCBindsByIssuerAndSubjectNeverByName(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	const iss = "https://id.example.com"
	_, err := l.ActorForIdentity(ctx, iss, "sub-mallory", "alice")
	wantErr(t, "a stranger naming alice", err, fairway.EUNAUTHORIZED,
		"subject sub-mallory of https://id.example.com is bound to no actor. Its token names alice, but a name in a token never selects an existing actor: if this identity is alice's, a human binds it with `fairway actor bind alice --oidc-issuer https://id.example.com --oidc-subject sub-mallory`")
	if a := must(l.GetActor(ctx, "alice")); a.Subject != "" || a.Issuer != "" {
		t.Fatalf("alice after a stranger's sign-in in her name: bound to %q %q, want unbound", a.Issuer, a.Subject)
	}
	_, err = l.ActorForIdentity(ctx, iss, "sub-new", "newcomer")
	wantErr(t, "a new name", err, fairway.EUNAUTHORIZED, "no actor is named newcomer: a human creates one (`fairway actor create newcomer --kind human`)")

	_, err = l.BindIdentity(as("codex"), "omar", iss, "sub-omar")
	wantErr(t, "an agent binding", err, fairway.EFORBIDDEN, "only a human can bind omar (human) to an identity")
	_, err = l.BindIdentity(as("alice"), "omar", iss, "")
	wantErr(t, "no subject", err, fairway.EINVALID, "oidc-subject: is required")
	b := must(l.BindIdentity(as("alice"), "omar", iss, "sub-omar"))
	if b.Issuer != iss || b.Subject != "sub-omar" {
		t.Fatalf("bound = %+v", b)
	}
	if a := must(l.ActorForIdentity(ctx, iss, "sub-omar", "someone-else")); a.Name != "omar" {
		t.Fatalf("omar's identity signs in as %s", a.Name)
	}
	_, err = l.BindIdentity(as("alice"), "omar", iss, "sub-other")
	wantErr(t, "rebinding", err, fairway.ECONFLICT, "actor omar is bound already, to subject sub-omar of https://id.example.com")
	_, err = l.BindIdentity(as("alice"), "alice", iss, "sub-omar")
	wantErr(t, "omar's identity for alice", err, fairway.ECONFLICT, "already bound to another actor")
	if a := must(l.GetActor(ctx, "alice")); a.Subject != "" {
		t.Fatalf("alice bound to %q after a refused binding", a.Subject)
	}
	var binds []string
	for _, e := range must(l.AuditLog(ctx, fairway.AuditFilter{})) {
		if strings.HasPrefix(e.Action, "actor.bind") {
			binds = append(binds, e.Action+" "+e.Subject+" by "+e.Actor)
		}
	}
	if want := "actor.bind.refused omar by codex, actor.bind omar by alice"; strings.Join(binds, ", ") != want {
		t.Fatalf("audited = %s\nwant      %s", strings.Join(binds, ", "), want)
	}
	if v := must(l.VerifyAudit(ctx)); !v.OK {
		t.Fatalf("audit verify: %+v", v)
	}
}
