package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"fairway"
	"fairway/sqlite"
	"fairway/storetest"
)

// MustOpenStore opens a store in a temporary folder, closed at the end of
// the test.
func MustOpenStore(tb testing.TB, opts sqlite.Options) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "fairway.db"), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) fairway.Store { return MustOpenStore(t, sqlite.Options{}) })
}

func TestConformance_WithoutGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T) fairway.Store { return MustOpenStore(t, sqlite.Options{MaxBatch: 1}) })
}

// An export made before tokens had ids imports, and its tokens get them.
func TestImport_TokensFromBeforeIDs(t *testing.T) {
	storetest.ImportsTokensFromBeforeIDs(t, MustOpenStore(t, sqlite.Options{}), MustOpenStore(t, sqlite.Options{}))
}

// Search texts are indexed once per write batch, before its commit: a
// write that fails takes its text with it, one that succeeds is found.
func TestSearch_IndexFollowsTheBatch(t *testing.T) {
	s := MustOpenStore(t, sqlite.Options{})
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	task := func(key, title string) *fairway.Task {
		return &fairway.Task{Key: key, Title: title, Creator: "alice", Status: fairway.StatusOpen, Risk: fairway.RiskLow, CreatedAt: at, UpdatedAt: at}
	}
	failed := errors.New("refused after writing")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, fn := range []func(fairway.Tx) error{
		func(tx fairway.Tx) error { return tx.InsertTask(task("S-1", "tunnel rotation kept")) },
		func(tx fairway.Tx) error {
			if err := tx.InsertTask(task("S-2", "tunnel rotation dropped")); err != nil {
				return err
			}
			return failed
		},
	} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.Update(ctx, fn) }()
	}
	wg.Wait()
	if errs[0] != nil || !errors.Is(errs[1], failed) {
		t.Fatalf("writes: %v", errs)
	}
	var hits []*fairway.SearchHit
	if err := s.View(ctx, func(tx fairway.Tx) (err error) {
		hits, err = tx.Search(fairway.SearchQuery{Text: "tunnel rotation", Limit: 10})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Task != "S-1" {
		t.Fatalf("hits = %+v, want only S-1", hits)
	}
}

// A batch that changes more search texts than one statement holds
// indexes all of them, and a text written twice in it keeps the later.
func TestSearch_ABatchOfManyTextsIndexesEach(t *testing.T) {
	s := MustOpenStore(t, sqlite.Options{})
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	const n = 150
	if err := s.Update(ctx, func(tx fairway.Tx) error {
		for i := range n {
			task := &fairway.Task{Key: fmt.Sprintf("M-%03d", i), Title: "first draft", Creator: "alice", Status: fairway.StatusOpen, Risk: fairway.RiskLow, CreatedAt: at, UpdatedAt: at}
			if err := tx.InsertTask(task); err != nil {
				return err
			}
			task.Title = fmt.Sprintf("harbour crane %03d", i)
			if err := tx.UpdateTask(task); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		want  int
	}{{"harbour crane", n}, {"first draft", 0}, {"crane 149", 1}} {
		var hits []*fairway.SearchHit
		if err := s.View(ctx, func(tx fairway.Tx) (err error) {
			hits, err = tx.Search(fairway.SearchQuery{Text: c.query, Limit: 1000})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(hits) != c.want {
			t.Errorf("search %q: %d hits, want %d", c.query, len(hits), c.want)
		}
	}
}

func TestImport_ALogFromBeforeTheTree(t *testing.T) {
	storetest.ImportsALogFromBeforeTheTree(t, MustOpenStore(t, sqlite.Options{}), func() fairway.Store { return MustOpenStore(t, sqlite.Options{}) })
}
