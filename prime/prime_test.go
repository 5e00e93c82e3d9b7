package prime_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/prime"
	"fairway/sqlite"
)

func as(name string) context.Context {
	return fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: name})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The brief shows the handoff waiting on the agent's work and its work
// with what is ready, and folds text chosen by others to one line.
func TestBuild_HandoffWorkAndSafeText(t *testing.T) {
	dir := t.TempDir()
	store := must(sqlite.Open(context.Background(), filepath.Join(dir, "f.db"), sqlite.Options{}))
	t.Cleanup(func() { store.Close() })
	l := ledger.New(store, must(blob.NewFileStore(filepath.Join(dir, "blobs"))))
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { now = now.Add(time.Second); return now }
	must(l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}))
	must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: "codex", Kind: fairway.KindAgent}))
	must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: "claude", Kind: fairway.KindAgent}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "W-1", Title: "fix the runner", Owner: "codex"}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "W-2", Title: "later", Owner: "codex"}))
	if err := l.AddDependency(as("alice"), "W-2", "W-1"); err != nil {
		t.Fatal(err)
	}
	att := must(l.AttachSession(as("claude"), fairway.SessionAttach{Task: "W-1", Provider: "claude"}))
	must(l.DetachSession(as("claude"), att.Session.ID, "half done:\n\trunner restarted,\nsmoke next"))

	b := must(prime.Build(as("codex"), l, prime.CLI))
	if b.Actor != "codex" || b.ActorKind != fairway.KindAgent || len(b.Sessions) != 0 {
		t.Fatalf("brief = %+v", b)
	}
	if len(b.Handoffs) != 1 || b.Handoffs[0].Task != "W-1" || b.Handoffs[0].Actor != "claude" || b.Handoffs[0].Summary != "half done:\n\trunner restarted,\nsmoke next" {
		t.Fatalf("handoffs = %+v", b.Handoffs)
	}
	if len(b.Mine) != 2 || strings.Join(b.Ready, ",") != "W-1" {
		t.Fatalf("mine %d, ready %v", len(b.Mine), b.Ready)
	}
	if len(b.Safe) != 0 || b.PolicyDigest != "" {
		t.Fatalf("without a policy there is no safe work: %+v", b.Safe)
	}
	var out bytes.Buffer
	prime.Write(&out, b)
	text := out.String()
	// A multi-line handoff is folded to one line: it cannot fake a line
	// of the brief.
	if strings.Contains(text, "\t") || strings.Contains(text, "half done:\n") {
		t.Fatalf("the handoff's line breaks reached the brief:\n%q", text)
	}
	for _, want := range []string{"You are codex (agent).", "Handoff waiting on W-1 from " + att.Session.ID + " (claude,", "half done: runner restarted, smoke next", "W-1  open (ready)", "context         never counts"} {
		if !strings.Contains(text, want) {
			t.Errorf("brief lacks %q:\n%s", want, text)
		}
	}
}
