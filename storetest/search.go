package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fairway"
)

// testSearch: every task, claim, evidence record and handoff is found by
// its words as soon as the transaction that wrote it commits, an edit
// replaces the old words, a rolled-back write leaves nothing behind,
// filters narrow, ranking puts the closer match first, and query text is
// never read as query syntax.
func testSearch(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	edge := newTask("EDGE-1", at)
	edge.Lane, edge.Title = "closeout", "Rotate the edge tunnel"
	edge.Scope = fairway.Scope{Text: "Cloudflare tunnel and Access policy", Surfaces: []string{"edge"}, Paths: []string{"services/gpuaas/tunnel.go"}}
	runner := newTask("RUN-1", at)
	runner.Lane, runner.Title = "platform", "Export the runner inventory"
	ev := &fairway.Evidence{ID: "EV-00000000SRCH", Task: "RUN-1", Kind: "export", Digest: digestOf("csv"), Size: 3, Filename: "runners.csv",
		Note: "host headroom beside the tunnel hosts", RecordedBy: "codex", RecordedByKind: "agent", RecordedAt: at}
	claim := &fairway.Claim{Task: "EDGE-1", Text: "tunnel smoke passed, ready for review", Actor: "codex", ActorKind: fairway.KindAgent, At: at}
	ses := &fairway.Session{ID: "ses-000000000000se01", Task: "RUN-1", Actor: "codex", ActorKind: fairway.KindAgent, Provider: "shell",
		Generation: 1, LeaseTTL: time.Minute, LeaseUntil: at.Add(time.Minute), State: fairway.SessionAttached, AttachedAt: at, UpdatedAt: at}
	update(t, s, func(tx fairway.Tx) error {
		if err := tx.InsertActor(&fairway.Actor{Name: "codex", Kind: fairway.KindAgent, CreatedAt: at}); err != nil {
			return err
		}
		for _, task := range []*fairway.Task{edge, runner} {
			if err := tx.InsertTask(task); err != nil {
				return err
			}
		}
		if err := tx.InsertEvidence(ev, nil); err != nil {
			return err
		}
		if err := tx.InsertClaim(claim); err != nil {
			return err
		}
		if err := tx.InsertSession(ses, "hash-se01"); err != nil {
			return err
		}
		ses.Handoff, ses.State = "inventory half exported; the tunnel hosts are next", fairway.SessionDetached
		return tx.UpdateSession(ses)
	})
	claimID := fmt.Sprint(claim.ID)

	search := func(q fairway.SearchQuery) []string {
		t.Helper()
		if err := q.Validate(); err != nil {
			t.Fatalf("query %+v: %v", q, err)
		}
		var out []string
		view(t, s, func(tx fairway.Tx) error {
			hits, err := tx.Search(q)
			if err != nil {
				return err
			}
			if hits == nil {
				t.Fatalf("search %+v returned nil, want an empty list", q)
			}
			for _, h := range hits {
				out = append(out, h.Kind+":"+h.ID+"@"+h.Lane)
			}
			return nil
		})
		return out
	}
	cases := []struct {
		name string
		q    fairway.SearchQuery
		want []string // nil: order checked separately, as a set here
	}{
		{"title word", fairway.SearchQuery{Text: "rotate"}, []string{"task:EDGE-1@closeout"}},
		{"scope text, any case", fairway.SearchQuery{Text: "CLOUDFLARE access"}, []string{"task:EDGE-1@closeout"}},
		{"scope path parts", fairway.SearchQuery{Text: "gpuaas tunnel.go"}, []string{"task:EDGE-1@closeout"}},
		{"evidence filename and note", fairway.SearchQuery{Text: "runners headroom"}, []string{"evidence:EV-00000000SRCH@platform"}},
		{"evidence kind", fairway.SearchQuery{Text: "export", Kind: fairway.SearchEvidence}, []string{"evidence:EV-00000000SRCH@platform"}},
		{"claim", fairway.SearchQuery{Text: "smoke passed"}, []string{"claim:" + claimID + "@closeout"}},
		{"handoff", fairway.SearchQuery{Text: "half exported"}, []string{"handoff:" + ses.ID + "@platform"}},
		{"every word must match", fairway.SearchQuery{Text: "tunnel inventory"}, []string{"handoff:" + ses.ID + "@platform"}},
		{"kind filter", fairway.SearchQuery{Text: "tunnel", Kind: fairway.SearchClaim}, []string{"claim:" + claimID + "@closeout"}},
		{"lane filter", fairway.SearchQuery{Text: "tunnel", Lane: "platform", Kind: fairway.SearchEvidence}, []string{"evidence:EV-00000000SRCH@platform"}},
		{"limit", fairway.SearchQuery{Text: "tunnel", Limit: 2}, nil},
		{"no match", fairway.SearchQuery{Text: "kubernetes"}, []string{}},
		// FTS5 and tsquery syntax in the text is only ever words.
		{"operators are words", fairway.SearchQuery{Text: `tunnel" OR "runner`}, []string{}},
		{"column filter is a word", fairway.SearchQuery{Text: "body:rotate"}, []string{}},
		{"prefix star is dropped", fairway.SearchQuery{Text: "rot*"}, []string{}},
		{"negation is a word", fairway.SearchQuery{Text: "rotate NOT edge"}, []string{}},
		{"tsquery operators", fairway.SearchQuery{Text: "rotate & !edge | (tunnel"}, []string{"task:EDGE-1@closeout"}},
	}
	for _, c := range cases {
		got := search(c.q)
		if c.want == nil {
			if len(got) != 2 {
				t.Errorf("%s: %v, want 2 hits", c.name, got)
			}
			continue
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: %q found %v, want %v", c.name, c.q.Text, got, c.want)
		}
	}
	all := search(fairway.SearchQuery{Text: "tunnel"})
	if len(all) != 4 {
		t.Fatalf("tunnel: %v, want the task, claim, evidence, handoff and none else", all)
	}
	// The task that says tunnel three times ranks above records that say
	// it once.
	if all[0] != "task:EDGE-1@closeout" {
		t.Fatalf("tunnel ranked %v, want the task first", all)
	}

	// An edit replaces the old words; a lane move moves the filter.
	edge.Title, edge.Lane = "Renew the edge certificate", "platform"
	update(t, s, func(tx fairway.Tx) error { return tx.UpdateTask(edge) })
	if got := search(fairway.SearchQuery{Text: "rotate"}); len(got) != 0 {
		t.Fatalf("old title still found: %v", got)
	}
	if got := search(fairway.SearchQuery{Text: "certificate", Lane: "platform"}); strings.Join(got, ",") != "task:EDGE-1@platform" {
		t.Fatalf("new title: %v", got)
	}
	// A write rolled back leaves no words behind.
	err := s.Update(ctx, func(tx fairway.Tx) error {
		if err := tx.InsertTask(&fairway.Task{Key: "GHOST-1", Title: "phantom", Creator: "alice", Status: fairway.StatusOpen, Risk: fairway.RiskLow, CreatedAt: at, UpdatedAt: at}); err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	})
	if err == nil {
		t.Fatal("the update did not fail")
	}
	if got := search(fairway.SearchQuery{Text: "phantom"}); len(got) != 0 {
		t.Fatalf("a rolled-back task is searchable: %v", got)
	}
}
