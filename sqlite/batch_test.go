package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"fairway"
)

// A write that fails in a batch changes nothing, and every other write
// of the batch takes effect exactly once, though it may run again when
// another fails: the lane counter is taken by the writes that succeed,
// one number each, and the failed write's task is not there. The batch
// after runs each write in its savepoint, so it runs none twice.
func TestBatch_AFailedWriteLeavesTheOthersWhole(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "fairway.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	if err := s.Update(ctx, func(tx fairway.Tx) error {
		return tx.InsertLane(&fairway.Lane{Name: "l", KeyPrefix: "L", CreatedAt: at})
	}); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused after writing")
	// batch runs three writes as one batch, the middle one failing after
	// it wrote, and returns how many times each ran and the lane number
	// each took last.
	batch := func(round int) (runs, taken [3]int64) {
		write := func(i int) func(fairway.Tx) error {
			return func(tx fairway.Tx) error {
				runs[i]++ // the writer runs writes one at a time
				n, err := tx.NextLaneSeq("l")
				if err != nil {
					return err
				}
				taken[i] = n
				if err := tx.InsertTask(&fairway.Task{Key: fmt.Sprintf("T-%d-%d", round, i), Title: "t", Creator: "alice",
					Status: fairway.StatusOpen, Risk: fairway.RiskLow, CreatedAt: at, UpdatedAt: at}); err != nil {
					return err
				}
				if i == 1 {
					return refused
				}
				return nil
			}
		}
		before := s.Stats().BatchWrites
		// The two lingering writes are held, in order, until the third,
		// which may not wait, joins them.
		lingering := fairway.WithWriteLinger(ctx, time.Hour)
		done := make([]chan error, 2)
		for i := range done {
			done[i] = make(chan error, 1)
			go func() { done[i] <- s.Update(lingering, write(i)) }()
			for give := time.Now().Add(time.Minute); s.held.Load() != int64(i+1); time.Sleep(time.Millisecond) {
				if time.Now().After(give) {
					t.Fatalf("the writer never held lingering write %d", i)
				}
			}
		}
		if err := s.Update(ctx, write(2)); err != nil {
			t.Fatal(err)
		}
		if err := <-done[0]; err != nil {
			t.Fatal(err)
		}
		if err := <-done[1]; !errors.Is(err, refused) {
			t.Fatalf("the failing write answered %v, want %v", err, refused)
		}
		after := s.Stats().BatchWrites
		if batches, writes := after.Count-before.Count, after.Sum-before.Sum; batches != 1 || writes != 2 {
			t.Fatalf("round %d: %d batches of %v committed writes, want one batch of 2", round, batches, writes)
		}
		return runs, taken
	}
	for round, want := range [][2]int64{{1, 2}, {3, 4}} {
		runs, taken := batch(round)
		if taken[0] != want[0] || taken[2] != want[1] {
			t.Fatalf("round %d: the writes that succeeded took lane numbers %d and %d, want %d and %d", round, taken[0], taken[2], want[0], want[1])
		}
		if runs[1] != 1 || runs[2] != 1 {
			t.Fatalf("round %d: the failing write ran %d times and the last %d, want once each", round, runs[1], runs[2])
		}
		if round == 1 && runs[0] != 1 {
			t.Fatalf("the batch after a failed write ran its first write %d times, want once (in its savepoint)", runs[0])
		}
	}
	err = s.View(ctx, func(tx fairway.Tx) error {
		for round := range 2 {
			for i, want := range []bool{true, false, true} {
				key := fmt.Sprintf("T-%d-%d", round, i)
				_, err := tx.Task(key)
				if got := err == nil; got != want || err != nil && fairway.ErrorCode(err) != fairway.ENOTFOUND {
					t.Errorf("task %s there = %v (%v), want %v", key, got, err, want)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
