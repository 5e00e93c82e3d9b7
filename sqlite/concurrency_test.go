package sqlite_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"fairway"
	"fairway/sqlite"
)

// TestView_ManyConcurrentReadersOnAFreshStore guards against a pool
// deadlock: read transactions that each prepare their first statement
// must never wait for a connection held by another such transaction.
func TestView_ManyConcurrentReadersOnAFreshStore(t *testing.T) {
	s := MustOpenStore(t, sqlite.Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				s.View(context.Background(), func(tx fairway.Tx) error {
					tx.Task("NOPE-1")
					tx.Lanes()
					tx.AuditHead()
					tx.ActorByTokenHash("x")
					return nil
				})
			}()
		}
		close(start)
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("64 concurrent read transactions did not finish: the read pool deadlocked")
	}
}
