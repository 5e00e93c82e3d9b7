package bench

import (
	"context"
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
