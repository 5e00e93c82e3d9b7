package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fairway"
)

// A panic in the writer's own work (not in a write, which runSafely
// guards) ended the process: in a daemon, every request it ran. The
// batch's writes fail with an internal error, nothing of them is
// committed, and the writer goes on.
func TestWriter_APanicInTheWriterFailsTheBatchAndTheWriterGoesOn(t *testing.T) {
	var armed atomic.Bool
	testHookCommit = func() {
		if armed.CompareAndSwap(true, false) {
			panic("a bug in the writer")
		}
	}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "fairway.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); testHookCommit = nil })
	ctx := context.Background()
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	insert := func(name string) error {
		return s.Update(ctx, func(tx fairway.Tx) error {
			return tx.InsertLane(&fairway.Lane{Name: name, KeyPrefix: strings.ToUpper(name), CreatedAt: at})
		})
	}
	armed.Store(true)
	err = insert("lost")
	if fairway.ErrorCode(err) != fairway.EINTERNAL || err.Error() != "the store's writer failed before it answered this write (panic: a bug in the writer); nothing of it was committed" {
		t.Fatalf("the write in the batch that panicked: %v (%s)", err, fairway.ErrorCode(err))
	}
	if err := insert("kept"); err != nil {
		t.Fatalf("the next write: %v", err)
	}
	if err := s.View(ctx, func(tx fairway.Tx) error {
		if _, err := tx.Lane("lost"); fairway.ErrorCode(err) != fairway.ENOTFOUND {
			t.Errorf("the lane of the failed batch: %v", err)
		}
		if _, err := tx.Lane("kept"); err != nil {
			t.Errorf("the lane written after: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
