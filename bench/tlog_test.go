package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"fairway"
	"fairway/sqlite"
)

// The tree fixture proves and verifies every sampled leaf and older size
// (Tree fails otherwise), and its proofs have the RFC 6962 lengths.
func TestTree_ProofsVerify(t *testing.T) {
	f, err := Tree(1000, 50)
	if err != nil {
		t.Fatal(err)
	}
	// 1000 leaves: a path is at most ceil(log2 1000) = 10 hashes long.
	if f.InclusionHashes != 10 || f.ConsistencyHashes < 2 || f.ConsistencyHashes > 11 || f.InclusionJSON <= 32*10 {
		t.Fatalf("figures %+v", f)
	}
}

func TestLogVerify_Verifies(t *testing.T) {
	if rate, err := LogVerify(300); err != nil || rate <= 0 {
		t.Fatalf("LogVerify = %v, %v", rate, err)
	}
}

// Both stores take every append, the tree's one through the same path
// the ledger uses.
func TestTreeAppends_BothStoresAppend(t *testing.T) {
	dir := t.TempDir()
	f, err := TreeAppends(context.Background(), dir, sqlite.Options{}, 4, 40, 2)
	if err != nil || f.Plain <= 0 || f.Tree <= 0 || f.PlainCPU <= 0 || f.TreeCPU <= 0 {
		t.Fatalf("TreeAppends = %+v, %v", f, err)
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "tree-4-1", "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var size int64
	s.View(context.Background(), func(tx fairway.Tx) error {
		h, err := tx.AuditHead()
		size = h.TreeSize
		return err
	})
	if size != 40 {
		t.Fatalf("the tree store's tree holds %d events, want 40", size)
	}
}

// Both ledgers take every write; only the measured one without the tree
// leaves its tree behind (at the actor created before it was switched).
func TestTreeWrites_OneLedgerKeepsTheTree(t *testing.T) {
	dir := t.TempDir()
	f, err := TreeWrites(context.Background(), dir, sqlite.Options{}, 4, 40, 2)
	if err != nil || f.Plain <= 0 || f.Tree <= 0 || f.PlainCPU <= 0 || f.TreeCPU <= 0 {
		t.Fatalf("TreeWrites = %+v, %v", f, err)
	}
	for k, want := range []int64{1, 41} {
		s, err := sqlite.Open(context.Background(), filepath.Join(dir, fmt.Sprintf("tree-writes-4-%d", k), "fairway.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var h fairway.AuditHead
		err = s.View(context.Background(), func(tx fairway.Tx) error {
			var err error
			h, err = tx.AuditHead()
			return err
		})
		s.Close()
		if err != nil || h.Seq != 41 || h.TreeSize != want {
			t.Fatalf("ledger %d: head seq %d, tree %d (%v); want 41 events and a tree of %d", k, h.Seq, h.TreeSize, err, want)
		}
	}
}
