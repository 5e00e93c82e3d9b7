package sqlite

import (
	"context"
	"testing"
	"time"

	"path/filepath"

	"fairway"
)

// Writes that may linger (fairway.WithWriteLinger) wait for company and
// share one commit; a write that may not wait ends the wait at once, so
// the three below are committed together — even though the lingering
// ones would wait an hour on their own.
func TestLinger_WritesShareOneCommit(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "fairway.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := s.Stats().BatchWrites
	noop := func(fairway.Tx) error { return nil }
	lingering := fairway.WithWriteLinger(context.Background(), time.Hour)
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- s.Update(lingering, noop) }()
	}
	// Both lingering writes are held by the writer before the third
	// arrives (none is answered: each would wait an hour alone).
	for give := time.Now().Add(time.Minute); s.held.Load() != 2; time.Sleep(time.Millisecond) {
		if time.Now().After(give) {
			t.Fatalf("the writer never held both lingering writes (holds %d)", s.held.Load())
		}
	}
	if err := s.Update(context.Background(), noop); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	after := s.Stats().BatchWrites
	if batches, writes := after.Count-before.Count, after.Sum-before.Sum; batches != 1 || writes != 3 {
		t.Fatalf("%d batches of %v writes, want one batch of 3", batches, writes)
	}
}
