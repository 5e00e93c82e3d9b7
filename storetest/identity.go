package storetest

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"fairway"
)

// testActorLifecycle: disabling, identity binding and token revocation
// round-trip, a bound identity belongs to one actor, and a revoked token
// no longer finds its actor.
func testActorLifecycle(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	a := &fairway.Actor{Name: "sana", Kind: fairway.KindHuman, CreatedAt: at}
	b := &fairway.Actor{Name: "sam", Kind: fairway.KindHuman, CreatedAt: at}
	update(t, s, func(tx fairway.Tx) error {
		for _, x := range []*fairway.Actor{a, b} {
			if err := tx.InsertActor(x); err != nil {
				return err
			}
		}
		if err := tx.InsertToken("h-1", &fairway.Token{Actor: "sana", CreatedAt: at}); err != nil {
			return err
		}
		return tx.InsertToken("h-2", &fairway.Token{Actor: "sana", CreatedAt: at})
	})
	a.Issuer, a.Subject = "https://idp.example", "sub-sana"
	a.DisabledAt, a.DisabledBy, a.DisabledReason = at.Add(time.Hour), "olivia", "left"
	update(t, s, func(tx fairway.Tx) error { return tx.UpdateActor(a) })
	view(t, s, func(tx fairway.Tx) error {
		got, err := tx.ActorByIdentity("https://idp.example", "sub-sana")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("ActorByIdentity = %+v, want %+v", got, a)
		}
		_, err = tx.ActorByIdentity("https://idp.example", "sub-other")
		wantCode(t, err, fairway.ENOTFOUND)
		return nil
	})
	b.Issuer, b.Subject = a.Issuer, a.Subject
	err := s.Update(ctx, func(tx fairway.Tx) error { return tx.UpdateActor(b) })
	wantCode(t, err, fairway.ECONFLICT)
	err = s.Update(ctx, func(tx fairway.Tx) error { return tx.UpdateActor(&fairway.Actor{Name: "ghost"}) })
	wantCode(t, err, fairway.ENOTFOUND)

	var n int
	update(t, s, func(tx fairway.Tx) (err error) { n, err = tx.RevokeTokens("sana", at); return err })
	if n != 2 {
		t.Fatalf("RevokeTokens = %d, want 2", n)
	}
	update(t, s, func(tx fairway.Tx) (err error) { n, err = tx.RevokeTokens("sana", at); return err })
	if n != 0 {
		t.Fatalf("RevokeTokens again = %d, want 0", n)
	}
	view(t, s, func(tx fairway.Tx) error {
		_, _, err := tx.ActorByTokenHash("h-1")
		wantCode(t, err, fairway.EUNAUTHORIZED)
		return nil
	})
}

// testTokensOneByOne: a token keeps its id, times and expiry; one token
// is revoked without touching the others; a revoked one cannot be
// revoked again, is listed no more, and no longer finds its actor.
func testTokensOneByOne(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	expires := at.Add(12 * time.Hour)
	plain := &fairway.Token{Actor: "sana", CreatedAt: at, IssuedBy: "omar", IssuedWith: "1111111111111111"}
	portal := &fairway.Token{Actor: "sana", CreatedAt: at.Add(time.Second), ExpiresAt: expires, FromLoginLink: true, IssuedBy: "sana"}
	update(t, s, func(tx fairway.Tx) error {
		if err := tx.InsertActor(&fairway.Actor{Name: "sana", Kind: fairway.KindHuman, CreatedAt: at}); err != nil {
			return err
		}
		if err := tx.InsertToken("aaaaaaaaaaaaaaaa0001", plain); err != nil {
			return err
		}
		return tx.InsertToken("bbbbbbbbbbbbbbbb0002", portal)
	})
	if plain.ID != "aaaaaaaaaaaaaaaa" || portal.ID != "bbbbbbbbbbbbbbbb" {
		t.Fatalf("token ids = %q %q, want the hashes' first 16 digits", plain.ID, portal.ID)
	}
	// Two hashes with one id: refused, never a second token behind one id.
	err := s.Update(ctx, func(tx fairway.Tx) error {
		return tx.InsertToken("aaaaaaaaaaaaaaaa9999", &fairway.Token{Actor: "sana", CreatedAt: at})
	})
	wantCode(t, err, fairway.ECONFLICT)
	view(t, s, func(tx fairway.Tx) error {
		list, err := tx.Tokens("sana")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(list, []*fairway.Token{plain, portal}) {
			t.Errorf("Tokens = %+v, want %+v then %+v", list, plain, portal)
		}
		_, k, err := tx.ActorByTokenHash("bbbbbbbbbbbbbbbb0002")
		if err != nil || !reflect.DeepEqual(k, portal) {
			t.Errorf("ActorByTokenHash's token = %+v %v, want %+v", k, err, portal)
		}
		live, err := tx.LiveTokens("sana")
		if want := map[string]time.Time{"aaaaaaaaaaaaaaaa0001": {}, "bbbbbbbbbbbbbbbb0002": expires}; err != nil || !reflect.DeepEqual(live, want) {
			t.Errorf("LiveTokens = %v %v, want %v", live, err, want)
		}
		_, err = tx.Token("cccccccccccccccc")
		wantCode(t, err, fairway.ENOTFOUND)
		// Who issued a token, and with which credential, is kept.
		if k, err := tx.Token(plain.ID); err != nil || k.IssuedBy != "omar" || k.IssuedWith != "1111111111111111" || k.Vouched() != "omar" {
			t.Errorf("Token = %+v %v, want issued by omar with 1111111111111111", k, err)
		}
		issued, err := tx.TokensIssuedWith("1111111111111111")
		if err != nil || !reflect.DeepEqual(issued, []*fairway.Token{plain}) {
			t.Errorf("TokensIssuedWith = %+v %v, want only %+v", issued, err, plain)
		}
		if none, err := tx.TokensIssuedWith("2222222222222222"); err != nil || len(none) != 0 {
			t.Errorf("TokensIssuedWith(another) = %+v %v, want none", none, err)
		}
		return nil
	})
	update(t, s, func(tx fairway.Tx) error { return tx.RevokeToken(portal.ID, at.Add(time.Hour)) })
	err = s.Update(ctx, func(tx fairway.Tx) error { return tx.RevokeToken(portal.ID, at.Add(2*time.Hour)) })
	wantCode(t, err, fairway.ENOTFOUND)
	view(t, s, func(tx fairway.Tx) error {
		k, err := tx.Token(portal.ID)
		if err != nil || !k.RevokedAt.Equal(at.Add(time.Hour)) {
			t.Errorf("revoked token = %+v %v, want revoked at %s", k, err, at.Add(time.Hour))
		}
		_, _, err = tx.ActorByTokenHash("bbbbbbbbbbbbbbbb0002")
		wantCode(t, err, fairway.EUNAUTHORIZED)
		if a, _, err := tx.ActorByTokenHash("aaaaaaaaaaaaaaaa0001"); err != nil || a.Name != "sana" {
			t.Errorf("the other token = %v %v, want sana's, still live", a, err)
		}
		list, err := tx.Tokens("sana")
		if err != nil || len(list) != 1 || list[0].ID != plain.ID {
			t.Errorf("Tokens after revoking one = %+v %v, want only %s", list, err, plain.ID)
		}
		return nil
	})
}

// testNarrowingRoundTrip: a narrowing keeps its edit, what it removes,
// its approvals and state.
func testNarrowingRoundTrip(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	n := &fairway.Narrowing{Task: "A-1", Update: fairway.TaskUpdate{ScopeText: ptrTo("shorter"), RemoveScope: fairway.Scope{Surfaces: []string{"edge"}}},
		Removes:    []fairway.RemovedNeed{{Requirement: "review:security", Because: "surface edge", Domain: "security", Protected: true}},
		ProposedBy: "priya", ProposedAt: at, Base: at.Add(-time.Hour), State: fairway.NarrowingPending}
	update(t, s, func(tx fairway.Tx) error {
		if err := tx.InsertTask(newTask("A-1", at)); err != nil {
			return err
		}
		if err := tx.InsertTask(newTask("B-1", at)); err != nil {
			return err
		}
		return tx.InsertNarrowing(n)
	})
	if n.ID == 0 {
		t.Fatal("InsertNarrowing set no ID")
	}
	n.Approvals = []fairway.NarrowingReview{{Domain: "security", By: "sergei", At: at.Add(time.Minute)}}
	n.State, n.AppliedAt = fairway.NarrowingApplied, at.Add(time.Minute)
	update(t, s, func(tx fairway.Tx) error { return tx.UpdateNarrowing(n) })
	view(t, s, func(tx fairway.Tx) error {
		got, err := tx.Narrowing(n.ID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, n) {
			t.Errorf("Narrowing = %+v, want %+v", got, n)
		}
		for task, want := range map[string]int{"A-1": 1, "B-1": 0, "": 1} {
			list, err := tx.Narrowings(task)
			if err != nil || len(list) != want {
				t.Errorf("Narrowings(%q) = %d, %v; want %d", task, len(list), err, want)
			}
		}
		_, err = tx.Narrowing(n.ID + 100)
		wantCode(t, err, fairway.ENOTFOUND)
		return nil
	})
}

// testWaiversAll: no task and no lane lists every waiver.
func testWaiversAll(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	update(t, s, func(tx fairway.Tx) error {
		for _, w := range []*fairway.Waiver{{Task: "A-1", Requirement: "evidence:diff", Reason: "r", RequestedBy: "a", RequestedAt: at, ExpiresAt: at.Add(time.Hour)},
			{Lane: "l", Requirement: "evidence:diff", Reason: "r", RequestedBy: "a", RequestedAt: at, ExpiresAt: at.Add(time.Hour)}} {
			if err := tx.InsertWaiver(w); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx fairway.Tx) error {
		for _, c := range []struct {
			task, lane string
			want       int
		}{{"", "", 2}, {"A-1", "", 1}, {"", "l", 1}, {"A-1", "l", 2}, {"B-1", "", 0}} {
			list, err := tx.Waivers(c.task, c.lane)
			if err != nil || len(list) != c.want {
				t.Errorf("Waivers(%q, %q) = %d, %v; want %d", c.task, c.lane, len(list), err, c.want)
			}
		}
		return nil
	})
}

func ptrTo[T any](v T) *T { return &v }

// testDependsOn: reachability through dependencies, however long the
// chain, and nothing for unrelated or reversed pairs.
func testDependsOn(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	update(t, s, func(tx fairway.Tx) error {
		for _, k := range []string{"D-1", "D-2", "D-3", "D-4", "X-1"} {
			if err := tx.InsertTask(newTask(k, at)); err != nil {
				return err
			}
		}
		// D-4 → D-3 → D-2 → D-1, and D-4 → D-2 (a diamond's shortcut).
		for _, e := range [][2]string{{"D-4", "D-3"}, {"D-3", "D-2"}, {"D-2", "D-1"}, {"D-4", "D-2"}} {
			if err := tx.InsertDependency(e[0], e[1]); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx fairway.Tx) error {
		for _, c := range []struct {
			from, to string
			want     bool
		}{{"D-4", "D-1", true}, {"D-3", "D-1", true}, {"D-1", "D-4", false}, {"D-4", "X-1", false}, {"X-1", "X-1", true}} {
			got, err := tx.DependsOn(c.from, c.to)
			if err != nil || got != c.want {
				t.Errorf("DependsOn(%s, %s) = %t, %v; want %t", c.from, c.to, got, err, c.want)
			}
		}
		return nil
	})
}

// testNewestEvidence: per kind, the newest record nothing supersedes.
func testNewestEvidence(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	ev := func(id, kind, supersedes string, sec int) *fairway.Evidence {
		return &fairway.Evidence{ID: id, Task: "N-1", Kind: kind, Digest: "sha256:" + id, RecordedBy: "codex", RecordedAt: at.Add(time.Duration(sec) * time.Second), Supersedes: supersedes}
	}
	update(t, s, func(tx fairway.Tx) error {
		if err := tx.InsertTask(newTask("N-1", at)); err != nil {
			return err
		}
		for _, e := range []*fairway.Evidence{ev("EV-1", "log", "", 1), ev("EV-2", "log", "", 2), ev("EV-3", "uat-report", "", 3),
			ev("EV-4", "uat-report", "", 4), ev("EV-5", "uat-report", "EV-4", 5), ev("EV-6", "smoke", "", 6)} {
			if err := tx.InsertEvidence(e, nil); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx fairway.Tx) error {
		got, err := tx.NewestEvidence("N-1")
		if err != nil {
			return err
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.Kind+"="+e.ID)
		}
		if want := "log=EV-2 smoke=EV-6 uat-report=EV-5"; strings.Join(ids, " ") != want {
			t.Errorf("NewestEvidence = %v, want %s", ids, want)
		}
		return nil
	})
}

// testLoginLinks: a login link is spent once, before it expires, and is
// never a bearer token nor a live token of its actor.
func testLoginLinks(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	update(t, s, func(tx fairway.Tx) error {
		if err := tx.InsertActor(&fairway.Actor{Name: "sana", Kind: fairway.KindHuman, CreatedAt: at}); err != nil {
			return err
		}
		if err := tx.InsertToken("h-token", &fairway.Token{Actor: "sana", CreatedAt: at}); err != nil {
			return err
		}
		if err := tx.InsertLoginLink("h-link", "sana", "omar", at, at.Add(10*time.Minute), 3*time.Hour); err != nil {
			return err
		}
		return tx.InsertLoginLink("h-old", "sana", "sana", at, at.Add(time.Minute), time.Hour)
	})
	view(t, s, func(tx fairway.Tx) error {
		if _, _, err := tx.ActorByTokenHash("h-link"); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
			t.Errorf("a login link as a bearer token: %v, want EUNAUTHORIZED", err)
		}
		live, err := tx.LiveTokens("sana")
		if err != nil || !reflect.DeepEqual(live, map[string]time.Time{"h-token": {}}) {
			t.Errorf("LiveTokens = %v %v, want only the token", live, err)
		}
		if _, err := tx.Token(fairway.TokenID("h-link")); fairway.ErrorCode(err) != fairway.ENOTFOUND {
			t.Errorf("a login link as a token by id: %v, want ENOTFOUND", err)
		}
		if list, err := tx.Tokens("sana"); err != nil || len(list) != 1 || list[0].ID != "h-token" {
			t.Errorf("Tokens = %+v %v, want only the token", list, err)
		}
		return nil
	})
	// A link is never revoked as a token by id: only spending it ends it.
	err := s.Update(context.Background(), func(tx fairway.Tx) error { return tx.RevokeToken(fairway.TokenID("h-link"), at) })
	wantCode(t, err, fairway.ENOTFOUND)
	var got *fairway.Actor
	var ttl time.Duration
	var issuedBy string
	update(t, s, func(tx fairway.Tx) (err error) {
		got, ttl, issuedBy, err = tx.UseLoginLink("h-link", at.Add(5*time.Minute))
		return err
	})
	if got == nil || got.Name != "sana" || ttl != 3*time.Hour || issuedBy != "omar" {
		t.Fatalf("UseLoginLink = %+v %s %q, want sana, the 3h the link was issued with, issued by omar", got, ttl, issuedBy)
	}
	for _, tc := range []struct {
		hash string
		want string
	}{{"h-link", "used already"}, {"h-old", "expired at 2026-11-02T00:01:00Z"}, {"h-token", "unknown"}, {"h-none", "unknown"}} {
		err := s.Update(context.Background(), func(tx fairway.Tx) error { _, _, _, err := tx.UseLoginLink(tc.hash, at.Add(5*time.Minute)); return err })
		if fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("UseLoginLink(%s) = %v, want EUNAUTHORIZED saying %q", tc.hash, err, tc.want)
		}
	}
	// Revoking an actor's tokens revokes its links too.
	update(t, s, func(tx fairway.Tx) error {
		return tx.InsertLoginLink("h-new", "sana", "sana", at, at.Add(time.Hour), time.Hour)
	})
	update(t, s, func(tx fairway.Tx) error { _, err := tx.RevokeTokens("sana", at.Add(6*time.Minute)); return err })
	err = s.Update(context.Background(), func(tx fairway.Tx) error { _, _, _, err := tx.UseLoginLink("h-new", at.Add(7*time.Minute)); return err })
	if fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Errorf("a link of an actor whose tokens were revoked: %v", err)
	}
}
