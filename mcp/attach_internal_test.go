package mcp

import (
	"context"
	"path/filepath"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"fairway"
	"fairway/ledger"
	"fairway/sqlite"
)

// An MCP session that ends forgets the ledger session it attached, so a
// long-running HTTP server does not keep every attachment it ever saw.
func TestAttachedIsForgottenWhenTheMCPSessionEnds(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l := ledger.New(store, nil)
	if _, err := l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}); err != nil {
		t.Fatal(err)
	}
	alice := fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "alice"})
	if _, err := l.CreateTask(alice, fairway.TaskCreate{Key: "F-1", Title: "forget"}); err != nil {
		t.Fatal(err)
	}
	s := NewServer(l, alice)
	ct, st := sdk.NewInMemoryTransports()
	ss, err := s.SDK().Connect(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "t", Version: "1"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "session_attach", Arguments: map[string]any{"task": "F-1", "provider": "shell"}})
	if err != nil || res.IsError {
		t.Fatalf("attach: %v %v", res, err)
	}
	s.mu.Lock()
	n := len(s.attached)
	s.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d attachments after attach, want 1", n)
	}
	cs.Close()
	ss.Wait()
	s.ended.Wait()
	s.mu.Lock()
	n = len(s.attached)
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d attachments after the MCP session ended, want 0", n)
	}
}
