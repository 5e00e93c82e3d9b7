package storetest

import (
	"reflect"
	"testing"
	"time"

	"fairway"
	"fairway/ledger"
)

// testSessionRoundTrip: a session keeps every field, is found by the
// hash of its credential whatever its state, one generation of a task is
// taken once (and the transaction stays usable), and the filters select
// by task, actor, state, lease and the token that attached it.
func testSessionRoundTrip(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 9, 0, 0, 123, time.UTC)
	a := &fairway.Session{
		ID: "ses-00000000000000a1", Task: "S-1", Actor: "codex", ActorKind: fairway.KindAgent, Provider: "tmux", Host: "build-3",
		ProviderSessions: []string{"0b5e-1", "0b5e-2"}, TmuxSocket: "fairway-1", TmuxPane: "%3", PID: 4242, PIDStart: "98765",
		Dir: "src/app", BaseCommit: "0123abcd", Generation: 1, LeaseTTL: 90 * time.Second, LeaseUntil: at.Add(90 * time.Second),
		State: fairway.SessionAttached, AttachedAt: at, UpdatedAt: at, CredentialExpiresAt: at.Add(8 * time.Hour), TokenID: "00000000000000a1",
	}
	b := &fairway.Session{ID: "ses-00000000000000b2", Task: "S-1", Actor: "claude", ActorKind: fairway.KindAgent, Provider: "claude",
		Generation: 2, LeaseTTL: time.Minute, LeaseUntil: at.Add(time.Hour), State: fairway.SessionAttached, Replaces: a.ID, AttachedAt: at.Add(time.Second), UpdatedAt: at}
	c := &fairway.Session{ID: "ses-00000000000000c3", Task: "S-2", Actor: "codex", ActorKind: fairway.KindAgent, Provider: "shell", TokenID: "00000000000000a1",
		Generation: 1, LeaseTTL: time.Minute, LeaseUntil: at.Add(time.Minute), State: fairway.SessionAttached, AttachedAt: at.Add(2 * time.Second), UpdatedAt: at}
	update(t, s, func(tx fairway.Tx) error {
		for _, n := range []string{"codex", "claude"} {
			if err := tx.InsertActor(&fairway.Actor{Name: n, Kind: fairway.KindAgent, CreatedAt: at}); err != nil {
				return err
			}
		}
		for _, k := range []string{"S-1", "S-2"} {
			if err := tx.InsertTask(newTask(k, at)); err != nil {
				return err
			}
		}
		if err := tx.InsertSession(a, "hash-a"); err != nil {
			return err
		}
		// The same generation of the same task again is a conflict, and
		// the transaction goes on.
		dup := *b
		dup.Generation = 1
		wantCode(t, tx.InsertSession(&dup, "hash-dup"), fairway.ECONFLICT)
		if err := tx.InsertSession(b, "hash-b"); err != nil {
			return err
		}
		return tx.InsertSession(c, "hash-c")
	})
	view(t, s, func(tx fairway.Tx) error {
		got, err := tx.Session(a.ID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("Session = %+v, want %+v", got, a)
		}
		byHash, err := tx.SessionByTokenHash("hash-b")
		if err != nil || byHash.ID != b.ID {
			t.Errorf("SessionByTokenHash(hash-b) = %v, %v; want %s", byHash, err, b.ID)
		}
		_, err = tx.SessionByTokenHash("hash-dup")
		wantCode(t, err, fairway.EUNAUTHORIZED)
		_, err = tx.Session("ses-ffffffffffffffff")
		wantCode(t, err, fairway.ENOTFOUND)
		gen, err := tx.MaxSessionGeneration("S-1")
		if err != nil || gen != 2 {
			t.Errorf("MaxSessionGeneration(S-1) = %d, %v; want 2", gen, err)
		}
		gen, err = tx.MaxSessionGeneration("S-9")
		if err != nil || gen != 0 {
			t.Errorf("MaxSessionGeneration(S-9) = %d, %v; want 0", gen, err)
		}
		return nil
	})

	// The predecessor is replaced: state, link, reason and end are kept.
	a.State, a.ReplacedBy, a.Reason, a.EndedAt, a.UpdatedAt = fairway.SessionReplaced, b.ID, "replaced by "+b.ID, at.Add(time.Minute), at.Add(time.Minute)
	a.ProviderSessions = append(a.ProviderSessions, "0b5e-3")
	a.Handoff = "half done: see the branch"
	update(t, s, func(tx fairway.Tx) error { return tx.UpdateSession(a) })
	err := s.Update(ctx, func(tx fairway.Tx) error { return tx.UpdateSession(&fairway.Session{ID: "ses-ffffffffffffffff"}) })
	wantCode(t, err, fairway.ENOTFOUND)

	ids := func(l []*fairway.Session) []string {
		var out []string
		for _, x := range l {
			out = append(out, x.ID)
		}
		return out
	}
	view(t, s, func(tx fairway.Tx) error {
		got, err := tx.SessionByTokenHash("hash-a")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("replaced session = %+v, want %+v", got, a)
		}
		for _, c := range []struct {
			f    fairway.SessionFilter
			want []string
		}{
			{fairway.SessionFilter{}, []string{a.ID, b.ID, c.ID}},
			{fairway.SessionFilter{Task: "S-1"}, []string{a.ID, b.ID}},
			{fairway.SessionFilter{Actor: "codex"}, []string{a.ID, c.ID}},
			{fairway.SessionFilter{State: fairway.SessionAttached}, []string{b.ID, c.ID}},
			{fairway.SessionFilter{State: fairway.SessionAttached, LeaseBefore: at.Add(30 * time.Minute)}, []string{c.ID}},
			{fairway.SessionFilter{Task: "S-2", State: fairway.SessionReplaced}, nil},
			{fairway.SessionFilter{TokenID: "00000000000000a1"}, []string{a.ID, c.ID}},
			{fairway.SessionFilter{TokenID: "00000000000000a1", State: fairway.SessionAttached}, []string{c.ID}},
			{fairway.SessionFilter{TokenID: "00000000000000ff"}, nil},
		} {
			got, err := tx.Sessions(c.f)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(ids(got), c.want) {
				t.Errorf("Sessions(%+v) = %v, want %v", c.f, ids(got), c.want)
			}
		}
		return nil
	})
}

// testSessionObservations: observations come back newest first, capped,
// with an exit code only where one was given (0 included).
func testSessionObservations(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	zero, killed := 0, 137
	obs := []*fairway.Observation{
		{Session: "ses-00000000000000a1", At: at, Source: fairway.SourceHeartbeat},
		{Session: "ses-00000000000000a1", At: at.Add(time.Second), Source: fairway.SourceProcessExit, Detail: "exited", ExitCode: &zero},
		{Session: "ses-00000000000000a1", At: at.Add(2 * time.Second), Source: fairway.SourceProcessExit, Detail: "SIGKILL", ExitCode: &killed},
	}
	update(t, s, func(tx fairway.Tx) error {
		if err := tx.InsertActor(&fairway.Actor{Name: "codex", Kind: fairway.KindAgent, CreatedAt: at}); err != nil {
			return err
		}
		if err := tx.InsertTask(newTask("S-1", at)); err != nil {
			return err
		}
		if err := tx.InsertSession(&fairway.Session{ID: "ses-00000000000000a1", Task: "S-1", Actor: "codex", ActorKind: fairway.KindAgent,
			Provider: "shell", Generation: 1, LeaseTTL: time.Minute, LeaseUntil: at, State: fairway.SessionAttached, AttachedAt: at, UpdatedAt: at}, "h"); err != nil {
			return err
		}
		for _, o := range obs {
			if err := tx.InsertObservation(o); err != nil {
				return err
			}
		}
		return nil
	})
	if obs[0].ID == 0 || obs[1].ID <= obs[0].ID || obs[2].ID <= obs[1].ID {
		t.Fatalf("observation ids not set in order: %d %d %d", obs[0].ID, obs[1].ID, obs[2].ID)
	}
	view(t, s, func(tx fairway.Tx) error {
		got, err := tx.Observations("ses-00000000000000a1", 2)
		if err != nil {
			return err
		}
		if want := []*fairway.Observation{obs[2], obs[1]}; !reflect.DeepEqual(got, want) {
			t.Errorf("Observations = %+v %+v, want %+v %+v", got[0], got[1], want[0], want[1])
		}
		all, err := tx.Observations("ses-00000000000000a1", 10)
		if err != nil {
			return err
		}
		if len(all) != 3 || all[2].ExitCode != nil {
			t.Errorf("Observations(10) = %d, oldest exit code %v; want 3 and none", len(all), all[len(all)-1].ExitCode)
		}
		none, err := tx.Observations("ses-ffffffffffffffff", 10)
		if err != nil || len(none) != 0 {
			t.Errorf("Observations of an unknown session = %v, %v; want none", none, err)
		}
		return nil
	})
}

// testSessionLeaseRenewal: renewing a lease changes the lease end and the
// update time and nothing else; the session's handoff stays found by
// search; an unknown session is ENOTFOUND and the transaction stays usable.
func testSessionLeaseRenewal(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	ses := &fairway.Session{
		ID: "ses-00000000000000d4", Task: "S-1", Actor: "codex", ActorKind: fairway.KindAgent, Provider: "shell",
		ProviderSessions: []string{"0b5e-9"}, PID: 77, PIDStart: "1234", Generation: 1, LeaseTTL: time.Minute,
		LeaseUntil: at.Add(time.Minute), State: fairway.SessionAttached, Handoff: "lease renewal keeps this handoff findable",
		AttachedAt: at, UpdatedAt: at,
	}
	update(t, s, func(tx fairway.Tx) error {
		if err := tx.InsertActor(&fairway.Actor{Name: "codex", Kind: fairway.KindAgent, CreatedAt: at}); err != nil {
			return err
		}
		if err := tx.InsertTask(newTask("S-1", at)); err != nil {
			return err
		}
		return tx.InsertSession(ses, "hash-d4")
	})
	renewed := at.Add(10 * time.Second)
	update(t, s, func(tx fairway.Tx) error {
		wantCode(t, tx.RenewSessionLease("ses-ffffffffffffffff", renewed, renewed), fairway.ENOTFOUND)
		return tx.RenewSessionLease(ses.ID, renewed.Add(time.Minute), renewed)
	})
	want := *ses
	want.LeaseUntil, want.UpdatedAt = renewed.Add(time.Minute), renewed
	view(t, s, func(tx fairway.Tx) error {
		got, err := tx.Session(ses.ID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("renewed session = %+v, want %+v", got, &want)
		}
		hits, err := tx.Search(fairway.SearchQuery{Text: "renewal handoff", Limit: 10})
		if err != nil {
			return err
		}
		if len(hits) != 1 || hits[0].Kind != fairway.SearchHandoff || hits[0].ID != ses.ID {
			t.Errorf("search after renewal = %+v, want the handoff of %s", hits, ses.ID)
		}
		return nil
	})
}

// testRevokingATokenEndsItsSessions: a session attached with a bearer
// token records it, and revoking that token ends the session and stops
// its credential. A session of that actor that records no token, attached
// while the token existed, ends too (it may have been attached with it,
// before sessions recorded their token); another actor's goes on.
func testRevokingATokenEndsItsSessions(t *testing.T, e *env) {
	e.task(t, "S-1")
	e.task(t, "S-2")
	e.task(t, "S-3")
	a, au, err := ledger.TokenAuth{L: e.l}.Authenticate(ctx, e.agentToken)
	if err != nil {
		t.Fatal(err)
	}
	signedIn := fairway.NewContextWithAuth(fairway.NewContextWithActor(ctx, a), au)
	byToken, err := e.l.AttachSession(signedIn, fairway.SessionAttach{Task: "S-1", Provider: "codex"})
	if err != nil {
		t.Fatal(err)
	}
	id := fairway.TokenID(ledger.HashToken(e.agentToken))
	if byToken.Session.TokenID != id {
		t.Fatalf("the session records token %q, want %s", byToken.Session.TokenID, id)
	}
	local, err := e.l.AttachSession(e.codex, fairway.SessionAttach{Task: "S-2", Provider: "shell"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.l.AttachSession(e.bob, fairway.SessionAttach{Task: "S-3", Provider: "shell"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.RevokeToken(e.alice, id); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, state string
	}{{byToken.Session.ID, fairway.SessionInterrupted}, {local.Session.ID, fairway.SessionInterrupted}, {other.Session.ID, fairway.SessionAttached}} {
		s, err := e.l.GetSession(ctx, c.id)
		if err != nil || s.State != c.state {
			t.Fatalf("session %s after the revocation: %+v %v, want %s", c.id, s, err, c.state)
		}
	}
	_, _, err = ledger.TokenAuth{L: e.l}.Authenticate(ctx, byToken.Token)
	wantCode(t, err, fairway.EUNAUTHORIZED)
}
