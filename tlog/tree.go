// Package tlog makes Fairway's audit log a transparency log: every event
// is a leaf of an RFC 6962 Merkle tree, tree heads are signed as C2SP
// checkpoints, and inclusion and consistency proofs are built and checked
// here. It imports no store: the ledger uses it to compute, and a
// verifier holding only a public key, a checkpoint and an exported log
// uses it to check.
package tlog

import (
	"crypto/sha256"
	"fmt"
	"math/bits"

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
	// A buffer on the stack holds the usual event; a larger one grows.
	var buf [512]byte
	buf[0] = rfc6962.RFC6962LeafHashPrefix
	sum := sha256.Sum256(e.AppendLeafData(buf[:1]))
	return sum[:]
}

// EmptyRoot is the root of the tree with no leaves: SHA-256 of nothing.
func EmptyRoot() []byte { return hasher.EmptyRoot() }

// StoredLevel is the lowest level of the tree nodes a store keeps. A node
// below it lies inside one perfect subtree of 2^StoredLevel leaves and is
// recomputed from those events when a proof needs it (Nodes): storing
// every node cost two rows per event, this one row per 32 events, and a
// proof reads at most 64 more events.
const StoredLevel = 6

// Append computes what adding leaf (the tree's leaf number size) does to a
// tree of size leaves whose compact range is rng: the complete nodes it
// finishes that a store keeps (level StoredLevel and above, lowest first)
// and the new compact range. rng is not modified.
func Append(size int64, rng [][]byte, leaf []byte) (*fairway.MerkleAppend, error) {
	// The compact range of [0, size) holds one perfect subtree's root per
	// bit set in size, largest first. The new leaf merges with the
	// smallest ones while size's low bits are set, as a carry does.
	if size < 0 || bits.OnesCount64(uint64(size)) != len(rng) {
		return nil, fmt.Errorf("audit tree head: a tree of %d leaves has %d subtree roots, not %d", size, bits.OnesCount64(uint64(max(size, 0))), len(rng))
	}
	out := &fairway.MerkleAppend{}
	h, n := leaf, len(rng)
	for level := uint8(0); size>>level&1 == 1; level++ {
		h = hashChildren(rng[n-1], h)
		n--
		if level+1 >= StoredLevel {
			out.Nodes = append(out.Nodes, fairway.MerkleNode{MerkleNodeID: fairway.MerkleNodeID{Level: level + 1, Index: size >> (level + 1)}, Hash: h})
		}
	}
	out.Range = make([][]byte, n+1)
	copy(out.Range, rng[:n])
	out.Range[n] = h
	return out, nil
}

// hashChildren is RFC 6962's interior node hash, SHA-256 of 0x01, left
// and right, without the hasher's allocations for the usual 32-byte
// children.
func hashChildren(l, r []byte) []byte {
	if len(l) != sha256.Size || len(r) != sha256.Size {
		return hasher.HashChildren(l, r)
	}
	var buf [1 + 2*sha256.Size]byte
	buf[0] = rfc6962.RFC6962NodeHashPrefix
	copy(buf[1:], l)
	copy(buf[1+sha256.Size:], r)
	sum := sha256.Sum256(buf[:])
	return sum[:]
}

// storedNodes adapts visit to a compact range's visitor, passing on only
// the nodes a store keeps.
func storedNodes(visit func(fairway.MerkleNode)) compact.VisitFn {
	if visit == nil {
		return nil
	}
	return func(id compact.NodeID, hash []byte) {
		if id.Level >= StoredLevel {
			visit(fairway.MerkleNode{MerkleNodeID: fromID(id), Hash: hash})
		}
	}
}

// Leaves returns the leaf hashes of the events numbered from to to-1
// (leaf i is event i+1), all of them or an error.
type Leaves func(from, to int64) ([][]byte, error)

// Nodes returns a Fetch over a store that keeps the nodes from
// StoredLevel up: those it reads with stored, the lower ones it hashes up
// from their leaves, reading each run of leaves once per call.
func Nodes(stored Fetch, leaves Leaves) Fetch {
	return func(ids []fairway.MerkleNodeID) ([][]byte, error) {
		out := make([][]byte, len(ids))
		var high []fairway.MerkleNodeID
		var highAt []int
		// spans are the leaves the low nodes need, one run per subtree
		// of 2^StoredLevel leaves.
		type span struct{ from, to int64 }
		spans := map[int64]*span{}
		for i, id := range ids {
			if id.Level >= StoredLevel {
				high, highAt = append(high, id), append(highAt, i)
				continue
			}
			if id.Index < 0 || id.Index > (1<<62)>>id.Level {
				return nil, fairway.Errorf(fairway.EINVALID, "audit tree node %d/%d: no such node", id.Level, id.Index)
			}
			from := id.Index << id.Level
			to := from + 1<<id.Level
			b := from >> StoredLevel
			if s, ok := spans[b]; ok {
				s.from, s.to = min(s.from, from), max(s.to, to)
			} else {
				spans[b] = &span{from, to}
			}
		}
		if len(high) > 0 {
			hashes, err := stored(high)
			if err != nil {
				return nil, err
			}
			for k, i := range highAt {
				out[i] = hashes[k]
			}
		}
		read := map[int64][][]byte{}
		for b, s := range spans {
			hs, err := leaves(s.from, s.to)
			if err != nil {
				return nil, err
			}
			if int64(len(hs)) != s.to-s.from {
				return nil, fairway.Errorf(fairway.ENOTFOUND, "audit tree leaves %d to %d: %d of %d found", s.from, s.to-1, len(hs), s.to-s.from)
			}
			read[b] = hs
		}
		for i, id := range ids {
			if id.Level >= StoredLevel {
				continue
			}
			from := id.Index << id.Level
			s := spans[from>>StoredLevel]
			out[i] = subtreeRoot(read[from>>StoredLevel][from-s.from : from-s.from+1<<id.Level])
		}
		return out, nil
	}
}

// subtreeRoot hashes a perfect subtree's leaves (a power of two of them)
// up to its root.
func subtreeRoot(leaves [][]byte) []byte {
	level := append([][]byte(nil), leaves...)
	for len(level) > 1 {
		for i := 0; i < len(level)/2; i++ {
			level[i] = hashChildren(level[2*i], level[2*i+1])
		}
		level = level[:len(level)/2]
	}
	return level[0]
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
