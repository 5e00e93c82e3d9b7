// Package tlog makes Fairway's audit log a transparency log: every event
// is a leaf of an RFC 6962 Merkle tree, tree heads are signed as C2SP
// checkpoints, and inclusion and consistency proofs are built and checked
// here. It imports no store: the ledger uses it to compute, and a
// verifier holding only a public key, a checkpoint and an exported log
// uses it to check.
package tlog

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"fairway"
)

// hasher is RFC 6962's SHA-256 tree hasher.
var hasher = rfc6962.DefaultHasher

var factory = &compact.RangeFactory{Hash: hasher.HashChildren}

// LeafHash returns the RFC 6962 leaf hash of an event: SHA-256 of 0x00
// followed by the event's encoding (AuditEvent.LeafData).
func LeafHash(e *fairway.AuditEvent) []byte {
	return hasher.HashLeaf(e.LeafData())
}

// EmptyRoot is the root of the tree with no leaves: SHA-256 of nothing.
func EmptyRoot() []byte { return hasher.EmptyRoot() }

// Append computes what adding leaf (the tree's leaf number size) does to a
// tree of size leaves whose compact range is rng: the complete nodes it
// finishes, leaf first, and the new compact range. rng is not modified.
func Append(size int64, rng [][]byte, leaf []byte) (*fairway.MerkleAppend, error) {
	r, err := factory.NewRange(0, uint64(size), clone(rng))
	if err != nil {
		return nil, fmt.Errorf("audit tree head: %w", err)
	}
	out := &fairway.MerkleAppend{}
	if err := r.Append(leaf, func(id compact.NodeID, hash []byte) {
		out.Nodes = append(out.Nodes, fairway.MerkleNode{MerkleNodeID: fromID(id), Hash: hash})
	}); err != nil {
		return nil, err
	}
	out.Range = r.Hashes()
	return out, nil
}

// Root returns the root of the tree of size leaves with compact range rng.
func Root(size int64, rng [][]byte) ([]byte, error) {
	if size == 0 {
		return EmptyRoot(), nil
	}
	r, err := factory.NewRange(0, uint64(size), clone(rng))
	if err != nil {
		return nil, fmt.Errorf("audit tree range: %w", err)
	}
	return r.GetRootHash(nil)
}

// Fetch returns the hashes of complete nodes in the order asked.
type Fetch func(ids []fairway.MerkleNodeID) ([][]byte, error)

// RootAt computes the root of the tree's first size leaves from its
// stored nodes: the perfect subtrees covering [0, size).
func RootAt(size int64, fetch Fetch) ([]byte, error) {
	if size == 0 {
		return EmptyRoot(), nil
	}
	ids := compact.RangeNodes(0, uint64(size), nil)
	hashes, err := fetch(toIDs(ids))
	if err != nil {
		return nil, err
	}
	return Root(size, hashes)
}

// Inclusion builds the audit path of leaf index in the tree of size.
func Inclusion(index, size int64, fetch Fetch) ([][]byte, error) {
	if index < 0 || size < 0 {
		return nil, fmt.Errorf("leaf %d, size %d: must not be negative", index, size)
	}
	nodes, err := proof.Inclusion(uint64(index), uint64(size))
	if err != nil {
		return nil, err
	}
	return rehash(nodes, fetch)
}

// Consistency builds the proof that the tree of size to extends that of
// size from.
func Consistency(from, to int64, fetch Fetch) ([][]byte, error) {
	if from < 0 || to < 0 {
		return nil, fmt.Errorf("sizes %d and %d: must not be negative", from, to)
	}
	nodes, err := proof.Consistency(uint64(from), uint64(to))
	if err != nil {
		return nil, err
	}
	return rehash(nodes, fetch)
}

func rehash(nodes proof.Nodes, fetch Fetch) ([][]byte, error) {
	if len(nodes.IDs) == 0 {
		return [][]byte{}, nil
	}
	hashes, err := fetch(toIDs(nodes.IDs))
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, hasher.HashChildren)
}

// VerifyInclusion checks an audit path: the leaf hash, at index in the
// tree of size, hashes up to root.
func VerifyInclusion(index, size int64, leafHash []byte, path [][]byte, root []byte) error {
	if index < 0 || size < 0 {
		return fmt.Errorf("leaf %d, size %d: must not be negative", index, size)
	}
	return proof.VerifyInclusion(hasher, uint64(index), uint64(size), leafHash, path, root)
}

// VerifyConsistency checks that root2 (size2) extends root1 (size1).
func VerifyConsistency(size1, size2 int64, path [][]byte, root1, root2 []byte) error {
	if size1 < 0 || size2 < 0 {
		return fmt.Errorf("sizes %d and %d: must not be negative", size1, size2)
	}
	return proof.VerifyConsistency(hasher, uint64(size1), uint64(size2), path, root1, root2)
}

func fromID(id compact.NodeID) fairway.MerkleNodeID {
	return fairway.MerkleNodeID{Level: uint8(id.Level), Index: int64(id.Index)}
}

func toIDs(ids []compact.NodeID) []fairway.MerkleNodeID {
	out := make([]fairway.MerkleNodeID, len(ids))
	for i, id := range ids {
		out[i] = fromID(id)
	}
	return out
}

// clone copies a range so that appending to it never writes into an
// array another head still holds (a batch rolled back to a savepoint).
func clone(rng [][]byte) [][]byte {
	out := make([][]byte, len(rng))
	copy(out, rng)
	return out
}
