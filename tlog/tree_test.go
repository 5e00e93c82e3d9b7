package tlog_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"fairway"
	"fairway/tlog"
)

// memTree keeps the nodes Append reports, as a store does, and the leaf
// hashes, as the events do; fetch reads it as the ledger reads a store.
type memTree struct {
	size   int64
	rng    [][]byte
	nodes  map[fairway.MerkleNodeID][]byte
	leaves [][]byte
	// leafReads counts the leaf hashes fetch read.
	leafReads int
}

func newMemTree() *memTree { return &memTree{nodes: map[fairway.MerkleNodeID][]byte{}} }

func (m *memTree) add(t testing.TB, leaf []byte) {
	t.Helper()
	app, err := tlog.Append(m.size, m.rng, leaf)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range app.Nodes {
		if _, dup := m.nodes[n.MerkleNodeID]; dup {
			t.Fatalf("node %+v reported twice", n.MerkleNodeID)
		}
		if n.Level < tlog.StoredLevel {
			t.Fatalf("node %+v reported for storing, below level %d", n.MerkleNodeID, tlog.StoredLevel)
		}
		m.nodes[n.MerkleNodeID] = n.Hash
	}
	m.size, m.rng, m.leaves = m.size+1, app.Range, append(m.leaves, leaf)
}

func (m *memTree) stored(ids []fairway.MerkleNodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, ok := m.nodes[id]
		if !ok {
			return nil, fmt.Errorf("node %+v missing", id)
		}
		out[i] = h
	}
	return out, nil
}

func (m *memTree) fetch(ids []fairway.MerkleNodeID) ([][]byte, error) {
	return tlog.Nodes(m.stored, func(from, to int64) ([][]byte, error) {
		if to > int64(len(m.leaves)) {
			return nil, fmt.Errorf("leaves %d to %d: only %d leaves", from, to, len(m.leaves))
		}
		m.leafReads += int(to - from)
		return m.leaves[from:to], nil
	})(ids)
}

// A store keeps one node per 2^StoredLevel leaves and those above it;
// every complete node of the tree, stored or not, reads as the reference
// tree's, and a fetch reads at most one subtree of leaves per low node.
func TestNodes_StoredAndComputedMatchTheFullTree(t *testing.T) {
	const n = 300
	m := newMemTree()
	full := map[fairway.MerkleNodeID][]byte{}
	ref := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := ref.NewEmptyRange(0)
	for k := 0; k < n; k++ {
		leaf := rfc6962.DefaultHasher.HashLeaf([]byte(fmt.Sprint(k)))
		m.add(t, leaf)
		if err := r.Append(leaf, func(id compact.NodeID, h []byte) {
			full[fairway.MerkleNodeID{Level: uint8(id.Level), Index: int64(id.Index)}] = h
		}); err != nil {
			t.Fatal(err)
		}
	}
	// 300 leaves: 4 nodes at level 6, 2 at level 7, 1 at level 8.
	if len(m.nodes) != 7 {
		t.Fatalf("stored %d nodes, want 7: %v", len(m.nodes), m.nodes)
	}
	for id, want := range full {
		m.leafReads = 0
		got, err := m.fetch([]fairway.MerkleNodeID{id})
		if err != nil || !bytes.Equal(got[0], want) {
			t.Fatalf("node %+v = %x, %v; want %x", id, got, err, want)
		}
		if id.Level < tlog.StoredLevel && m.leafReads != 1<<id.Level || id.Level >= tlog.StoredLevel && m.leafReads != 0 {
			t.Fatalf("node %+v read %d leaves", id, m.leafReads)
		}
	}
	// Two low nodes of one subtree share one read of the leaves.
	m.leafReads = 0
	if _, err := m.fetch([]fairway.MerkleNodeID{{Level: 0, Index: 64}, {Level: 2, Index: 31}, {Level: 3, Index: 8}}); err != nil {
		t.Fatal(err)
	}
	if m.leafReads != 64 {
		t.Fatalf("three nodes of leaves 64-127 read %d leaves, want 64 (one run)", m.leafReads)
	}
	if _, err := m.fetch([]fairway.MerkleNodeID{{Level: 3, Index: -1}}); err == nil {
		t.Fatal("a node at a negative index was fetched")
	}
	if _, err := m.fetch([]fairway.MerkleNodeID{{Level: 2, Index: 75}}); err == nil {
		t.Fatal("a node over leaves 300-303, not all appended, was fetched")
	}
}

// The RFC 6962 known answers: the roots of the trees built from the test
// vector leaves, and the compact ranges after each.
func TestTree_KnownAnswers(t *testing.T) {
	m := newMemTree()
	leaves, roots, ranges := testonly.LeafInputs(), testonly.RootHashes(), testonly.CompactTrees()
	if got, _ := tlog.Root(0, nil); !bytes.Equal(got, roots[0]) {
		t.Fatalf("empty root = %x, want %x", got, roots[0])
	}
	for i, leaf := range leaves {
		m.add(t, rfc6962.DefaultHasher.HashLeaf(leaf))
		size := int64(i + 1)
		if got, err := tlog.Root(size, m.rng); err != nil || !bytes.Equal(got, roots[size]) {
			t.Errorf("root of size %d = %x, %v; want %x", size, got, err, roots[size])
		}
		if len(m.rng) != len(ranges[size]) {
			t.Fatalf("range of size %d has %d hashes, want %d", size, len(m.rng), len(ranges[size]))
		}
		for j := range m.rng {
			if !bytes.Equal(m.rng[j], ranges[size][j]) {
				t.Errorf("range of size %d hash %d = %x, want %x", size, j, m.rng[j], ranges[size][j])
			}
		}
		// Every earlier root is recomputed from stored nodes alone.
		for s := int64(0); s <= size; s++ {
			if got, err := tlog.RootAt(s, m.fetch); err != nil || !bytes.Equal(got, roots[s]) {
				t.Errorf("RootAt(%d) after %d leaves = %x, %v; want %x", s, size, got, err, roots[s])
			}
		}
	}
}

// Proofs built from the stored nodes equal the reference tree's, verify,
// and stop verifying when any byte, the index or the size is changed.
func TestTree_ProofsMatchReferenceAndRejectTampering(t *testing.T) {
	const n = 37
	m, ref := newMemTree(), testonly.New(rfc6962.DefaultHasher)
	for i := 0; i < n; i++ {
		data := []byte(fmt.Sprintf("leaf %d", i))
		m.add(t, rfc6962.DefaultHasher.HashLeaf(data))
		ref.AppendData(data)
	}
	for size := int64(1); size <= n; size++ {
		root := ref.HashAt(uint64(size))
		for idx := int64(0); idx < size; idx++ {
			path, err := tlog.Inclusion(idx, size, m.fetch)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ref.InclusionProof(uint64(idx), uint64(size))
			if !equalPaths(path, want) {
				t.Fatalf("inclusion %d/%d differs from the reference", idx, size)
			}
			leaf := ref.LeafHash(uint64(idx))
			if err := tlog.VerifyInclusion(idx, size, leaf, path, root); err != nil {
				t.Fatalf("inclusion %d/%d: %v", idx, size, err)
			}
			if idx+1 < size && tlog.VerifyInclusion(idx+1, size, leaf, path, root) == nil {
				t.Fatalf("inclusion %d/%d verified at the wrong index", idx, size)
			}
			for k := range path {
				bad := clonePath(path)
				bad[k][0] ^= 1
				if tlog.VerifyInclusion(idx, size, leaf, bad, root) == nil {
					t.Fatalf("inclusion %d/%d verified with hash %d flipped", idx, size, k)
				}
			}
		}
		for from := int64(1); from <= size; from++ {
			path, err := tlog.Consistency(from, size, m.fetch)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ref.ConsistencyProof(uint64(from), uint64(size))
			if !equalPaths(path, want) {
				t.Fatalf("consistency %d→%d differs from the reference", from, size)
			}
			old := ref.HashAt(uint64(from))
			if err := tlog.VerifyConsistency(from, size, path, old, root); err != nil {
				t.Fatalf("consistency %d→%d: %v", from, size, err)
			}
			for k := range path {
				bad := clonePath(path)
				bad[k][31] ^= 0x80
				if tlog.VerifyConsistency(from, size, bad, old, root) == nil {
					t.Fatalf("consistency %d→%d verified with hash %d flipped", from, size, k)
				}
			}
		}
	}
}

// Append never writes into the range it was given: a batch that rolls a
// write back keeps the head it had.
func TestAppend_LeavesItsInputAlone(t *testing.T) {
	m := newMemTree()
	for i := 0; i < 3; i++ {
		m.add(t, rfc6962.DefaultHasher.HashLeaf([]byte{byte(i)}))
	}
	before := clonePath(m.rng)
	rng := make([][]byte, len(m.rng), 8)
	copy(rng, m.rng)
	if _, err := tlog.Append(3, rng, rfc6962.DefaultHasher.HashLeaf([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	if !equalPaths(rng, before) {
		t.Fatalf("Append changed the range it was given")
	}
}

// FuzzProofs checks random trees and proofs with a random byte changed.
func FuzzProofs(f *testing.F) {
	f.Add(uint16(5), uint16(2), uint16(3), uint8(0), uint8(1))
	f.Add(uint16(64), uint16(63), uint16(32), uint8(3), uint8(0x80))
	f.Fuzz(func(t *testing.T, size, idx, from uint16, at, flip uint8) {
		n := int64(size%300) + 1
		i, s1 := int64(idx)%n, int64(from)%n+1
		m := newMemTree()
		for k := int64(0); k < n; k++ {
			m.add(t, rfc6962.DefaultHasher.HashLeaf([]byte(fmt.Sprint(k))))
		}
		root, _ := tlog.Root(n, m.rng)
		leaf, _ := m.fetch([]fairway.MerkleNodeID{{Index: i}})
		path, err := tlog.Inclusion(i, n, m.fetch)
		if err != nil || tlog.VerifyInclusion(i, n, leaf[0], path, root) != nil {
			t.Fatalf("inclusion %d/%d does not verify: %v", i, n, err)
		}
		if len(path) > 0 && flip != 0 {
			bad := clonePath(path)
			bad[int(at)%len(bad)][int(at)%32] ^= flip
			if tlog.VerifyInclusion(i, n, leaf[0], bad, root) == nil {
				t.Fatalf("tampered inclusion %d/%d verified", i, n)
			}
		}
		old, _ := tlog.RootAt(s1, m.fetch)
		cons, err := tlog.Consistency(s1, n, m.fetch)
		if err != nil || tlog.VerifyConsistency(s1, n, cons, old, root) != nil {
			t.Fatalf("consistency %d→%d does not verify: %v", s1, n, err)
		}
		if len(cons) > 0 && flip != 0 {
			bad := clonePath(cons)
			bad[int(at)%len(bad)][int(at)%32] ^= flip
			if tlog.VerifyConsistency(s1, n, bad, old, root) == nil {
				t.Fatalf("tampered consistency %d→%d verified", s1, n)
			}
		}
	})
}

func equalPaths(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func clonePath(p [][]byte) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = append([]byte(nil), p[i]...)
	}
	return out
}

// BenchmarkAppend is the tree's compute cost of one audit append: what
// the ledger adds to a write before the store inserts the nodes.
func BenchmarkAppend(b *testing.B) {
	m := newMemTree()
	for i := 0; i < 1000; i++ {
		m.add(b, rfc6962.DefaultHasher.HashLeaf([]byte{byte(i)}))
	}
	leaf := rfc6962.DefaultHasher.HashLeaf([]byte("x"))
	size, rng := m.size, m.rng
	b.ReportAllocs()
	for b.Loop() {
		app, err := tlog.Append(size, rng, leaf)
		if err != nil {
			b.Fatal(err)
		}
		size, rng = size+1, app.Range
	}
}

// LeafHash is RFC 6962's leaf hash of the event's encoding, and Append
// refuses a range that cannot be the compact range of its size.
func TestLeafHashAndAppendInput(t *testing.T) {
	e := &fairway.AuditEvent{Seq: 7, Actor: "alice", ActorKind: "human", Action: "task.create", Subject: "T-1", Change: []byte(`{"a":1}`), Prev: "ab"}
	if got, want := tlog.LeafHash(e), rfc6962.DefaultHasher.HashLeaf(e.LeafData()); !bytes.Equal(got, want) {
		t.Fatalf("LeafHash = %x, want %x", got, want)
	}
	leaf := rfc6962.DefaultHasher.HashLeaf([]byte("x"))
	for _, c := range []struct {
		size int64
		rng  int
	}{{3, 1}, {4, 2}, {0, 1}, {-1, 0}} {
		_, err := tlog.Append(c.size, make([][]byte, c.rng), leaf)
		if err == nil || !strings.Contains(err.Error(), "audit tree head: a tree of") {
			t.Errorf("Append(size %d, %d roots) = %v, want a refusal", c.size, c.rng, err)
		}
	}
}

func BenchmarkLeafHash(b *testing.B) {
	e := &fairway.AuditEvent{Seq: 7, Actor: "alice", ActorKind: "human", Action: "task.update", Subject: "OPS-FIX-000123",
		Change: []byte(`{"status":"in_progress","title":"Restore compute capacity"}`), Prev: strings.Repeat("ab", 32)}
	b.ReportAllocs()
	for b.Loop() {
		tlog.LeafHash(e)
	}
}
