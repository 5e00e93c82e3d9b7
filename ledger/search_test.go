package ledger_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/sqlite"
)

// A write is found by search as soon as it returns, also when many
// writers share one commit, an edit in the same commit replaces the
// words of the write before it, and a reopened store finds the same.
func TestSearch_FindsAWriteAsSoonAsItReturns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fairway.db")
	open := func() (*ledger.Ledger, *sqlite.Store) {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		return ledger.New(s, blobs), s
	}
	l, s := open()
	must(l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}))
	hits := func(l *ledger.Ledger, word string) []string {
		t.Helper()
		out, err := l.Search(context.Background(), fairway.SearchQuery{Text: word, Limit: fairway.MaxSearchLimit})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, h := range out {
			ids = append(ids, h.Kind+" "+h.ID)
		}
		return ids
	}
	const writers = 32
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("SRCH-%03d", i)
			if _, err := l.CreateTask(as("alice"), fairway.TaskCreate{Key: key, Title: fmt.Sprintf("alpha%03d first words", i)}); err != nil {
				errs[i] = err
				return
			}
			if got := hits(l, fmt.Sprintf("alpha%03d", i)); len(got) != 1 || got[0] != "task "+key {
				errs[i] = fmt.Errorf("right after create: %v, want [task %s]", got, key)
				return
			}
			title := fmt.Sprintf("beta%03d second words", i)
			if _, err := l.UpdateTask(as("alice"), key, fairway.TaskUpdate{Title: &title}); err != nil {
				errs[i] = err
				return
			}
			if got := hits(l, fmt.Sprintf("alpha%03d", i)); len(got) != 0 {
				errs[i] = fmt.Errorf("old words after the edit: %v, want none", got)
			} else if got := hits(l, fmt.Sprintf("beta%03d", i)); len(got) != 1 || got[0] != "task "+key {
				errs[i] = fmt.Errorf("right after the edit: %v, want [task %s]", got, key)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if got := hits(l, "second words"); len(got) != writers {
		t.Fatalf("%d hits for every task's words, want %d", len(got), writers)
	}
	s.Close()
	l, s = open()
	defer s.Close()
	for i := range writers {
		if got := hits(l, fmt.Sprintf("beta%03d", i)); len(got) != 1 || got[0] != fmt.Sprintf("task SRCH-%03d", i) {
			t.Fatalf("after reopening: %v, want [task SRCH-%03d]", got, i)
		}
	}
}
