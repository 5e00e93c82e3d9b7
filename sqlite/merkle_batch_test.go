package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"fairway"
	"fairway/ledger"
	"fairway/sqlite"
	"fairway/tlog"
)

// The tree nodes of a write batch are stored together before its commit:
// a write that appended and then failed takes its nodes with it, and the
// others' nodes are all there, so the whole log and its tree verify, and
// a node made earlier in the batch is read back before it is stored.
func TestMerkle_NodesFollowTheBatch(t *testing.T) {
	s := MustOpenStore(t, sqlite.Options{})
	ctx := context.Background()
	failed := errors.New("refused after appending")
	appendOne := func(tx fairway.Tx, i int) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		e := &fairway.AuditEvent{At: time.Unix(int64(1000+i), 0).UTC(), Actor: "alice", ActorKind: "human", Action: "test.append",
			Subject: fmt.Sprint(i), Change: []byte(`{}`)}
		e.Seal(head)
		tree, err := tlog.Append(head.TreeSize, head.Range, tlog.LeafHash(e))
		if err != nil {
			return err
		}
		if err := tx.AppendAudit(e, tree); err != nil {
			return err
		}
		// The leaf just made reads back, before the batch stores it.
		got, err := tx.MerkleHashes([]fairway.MerkleNodeID{{Index: e.Seq - 1}})
		if err != nil {
			return err
		}
		if !tlog.SameRoot(got[0], tlog.LeafHash(e)) {
			return fmt.Errorf("leaf %d read back as %x", e.Seq, got[0])
		}
		return nil
	}
	// The first write holds the writer until the others are queued, so
	// they share a batch (if they do not, what is checked holds anyway).
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() { first <- s.Update(ctx, func(tx fairway.Tx) error { <-release; return appendOne(tx, 0) }) }()
	const writers = 12
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx fairway.Tx) error {
				if err := appendOne(tx, i+1); err != nil {
					return err
				}
				if i%3 == 1 {
					return failed
				}
				return nil
			})
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	kept := 1
	for i, err := range errs {
		switch {
		case i%3 == 1 && !errors.Is(err, failed):
			t.Fatalf("write %d: %v, want its refusal", i, err)
		case i%3 != 1 && err != nil:
			t.Fatalf("write %d: %v", i, err)
		case err == nil:
			kept++
		}
	}
	res, err := ledger.New(s, nil).VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Events != int64(kept) || res.Head.Seq != int64(kept) {
		t.Fatalf("verify = %+v, want OK over %d events", res, kept)
	}
	tree, err := ledger.New(s, nil).AuditTree(ctx)
	if err != nil || tree.Size != int64(kept) {
		t.Fatalf("tree = %+v %v, want %d leaves", tree, err, kept)
	}
}
