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

// Read connections a burst of requests opened stay open for the next:
// each new one parses the whole schema and prepares its statements
// again, which cost a busy server a quarter of its no-op requests' time.
func TestView_AConcurrentBurstKeepsItsConnections(t *testing.T) {
	s := MustOpenStore(t, sqlite.Options{})
	const readers = 32
	var inside, wg sync.WaitGroup
	inside.Add(readers)
	release := make(chan struct{})
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.View(context.Background(), func(tx fairway.Tx) error {
				_, err := tx.AuditHead()
				inside.Done()
				<-release // every reader holds its connection at once
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	inside.Wait()
	close(release)
	wg.Wait()
	if p := s.Stats().Pool; p.Total < readers || p.Idle != p.Total {
		t.Fatalf("after %d readers at once the pool holds %d connections, %d idle; want all %d kept", readers, p.Total, p.Idle, readers)
	}
}

// TestClose_WritesRacingCloseAllAnswer closes the store while writers
// keep coming: every write gets an answer (committed or "store is
// closed"), none waits forever.
func TestClose_WritesRacingCloseAllAnswer(t *testing.T) {
	for round := range 20 {
		s, err := sqlite.Open(context.Background(), t.TempDir()+"/f.db", sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		answered := make(chan error, 64)
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answered <- s.Update(context.Background(), func(tx fairway.Tx) error { _, err := tx.AuditHead(); return err })
			}()
		}
		s.Close()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: writes racing Close never got an answer", round)
		}
		close(answered)
		for err := range answered {
			if err != nil && fairway.ErrorMessage(err) != "store is closed" {
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
	}
}
