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
	// Each write appends eight events, so that the batch finishes tree
	// nodes (one per 64 events is stored) and reads each back.
	const perWrite = 8
	appendOne := func(tx fairway.Tx, i int) error {
		for k := range perWrite {
			head, err := tx.AuditHead()
			if err != nil {
				return err
			}
			e := &fairway.AuditEvent{At: time.Unix(int64(1000+i), 0).UTC(), Actor: "alice", ActorKind: "human", Action: "test.append",
				Subject: fmt.Sprint(i, "/", k), Change: []byte(`{}`)}
			e.Seal(head)
			tree, err := tlog.Append(head.TreeSize, head.Range, tlog.LeafHash(e))
			if err != nil {
				return err
			}
			if err := tx.AppendAudit(e, tree); err != nil {
				return err
			}
			// A node just made reads back, before the batch stores it.
			for _, n := range tree.Nodes {
				got, err := tx.MerkleHashes([]fairway.MerkleNodeID{n.MerkleNodeID})
				if err != nil {
					return err
				}
				if !tlog.SameRoot(got[0], n.Hash) {
					return fmt.Errorf("node %+v read back as %x", n.MerkleNodeID, got[0])
				}
			}
		}
		return nil
	}
	// The first write holds the writer until the others are queued, so
	// they share a batch (if they do not, what is checked holds anyway).
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() { first <- s.Update(ctx, func(tx fairway.Tx) error { <-release; return appendOne(tx, 0) }) }()
	const writers = 24
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
	events := int64(kept * perWrite)
	if !res.OK || res.Events != events || res.Head.Seq != events {
		t.Fatalf("verify = %+v, want OK over %d events", res, events)
	}
	tree, err := ledger.New(s, nil).AuditTree(ctx)
	if err != nil || tree.Size != events {
		t.Fatalf("tree = %+v %v, want %d leaves", tree, err, events)
	}
	// 17 writes kept, 136 events: the nodes over events 1-64 and 65-128
	// and their parent are stored; nothing over 129-136 yet.
	err = s.View(ctx, func(tx fairway.Tx) error {
		if _, err := tx.MerkleHashes([]fairway.MerkleNodeID{{Level: 6, Index: 0}, {Level: 6, Index: 1}, {Level: 7, Index: 0}}); err != nil {
			return err
		}
		if _, err := tx.MerkleHashes([]fairway.MerkleNodeID{{Level: 3, Index: 16}}); fairway.ErrorCode(err) != fairway.ENOTFOUND {
			return fmt.Errorf("a node below the stored level: %v, want ENOTFOUND", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
