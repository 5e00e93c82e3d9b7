package tlog_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"fairway"
	"fairway/tlog"
)

func dh(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// The RFC 6962 reference proofs over the eight test-vector leaves (the
// certificate-transparency vectors transparency-dev/merkle checks
// against): our proofs, built from stored nodes, are these exact hashes,
// and they verify against the known roots.
func TestTree_RFC6962ProofVectors(t *testing.T) {
	m := newMemTree()
	for _, leaf := range testonly.LeafInputs()[:8] {
		m.add(t, rfc6962.DefaultHasher.HashLeaf(leaf))
	}
	roots := testonly.RootHashes()
	inclusion := []struct {
		leaf, size int64 // leaf counted from 1, as in the vectors
		path       []string
	}{
		{1, 1, nil},
		{1, 8, []string{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
		{6, 8, []string{"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
		{3, 3, []string{"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
		{2, 5, []string{"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
	}
	for _, v := range inclusion {
		path, err := tlog.Inclusion(v.leaf-1, v.size, m.fetch)
		if err != nil {
			t.Fatal(err)
		}
		if len(path) != len(v.path) {
			t.Fatalf("inclusion %d/%d: %d hashes, want %d", v.leaf, v.size, len(path), len(v.path))
		}
		for i := range path {
			if !bytes.Equal(path[i], dh(v.path[i])) {
				t.Errorf("inclusion %d/%d hash %d = %x, want %s", v.leaf, v.size, i, path[i], v.path[i])
			}
		}
		leaf := rfc6962.DefaultHasher.HashLeaf(testonly.LeafInputs()[v.leaf-1])
		if err := tlog.VerifyInclusion(v.leaf-1, v.size, leaf, path, roots[v.size]); err != nil {
			t.Errorf("inclusion %d/%d does not verify against the known root: %v", v.leaf, v.size, err)
		}
	}
	consistency := []struct {
		from, to int64
		path     []string
	}{
		{1, 1, nil},
		{1, 8, []string{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
		{6, 8, []string{"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
		{2, 5, []string{"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
		{6, 7, []string{"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
	}
	for _, v := range consistency {
		path, err := tlog.Consistency(v.from, v.to, m.fetch)
		if err != nil {
			t.Fatal(err)
		}
		if len(path) != len(v.path) {
			t.Fatalf("consistency %d→%d: %d hashes, want %d", v.from, v.to, len(path), len(v.path))
		}
		for i := range path {
			if !bytes.Equal(path[i], dh(v.path[i])) {
				t.Errorf("consistency %d→%d hash %d = %x, want %s", v.from, v.to, i, path[i], v.path[i])
			}
		}
		if err := tlog.VerifyConsistency(v.from, v.to, path, roots[v.from], roots[v.to]); err != nil {
			t.Errorf("consistency %d→%d does not verify against the known roots: %v", v.from, v.to, err)
		}
		if v.from < v.to && tlog.VerifyConsistency(v.from, v.to, path, roots[v.from], roots[v.to-1]) == nil {
			t.Errorf("consistency %d→%d verified against the root of size %d", v.from, v.to, v.to-1)
		}
	}
}

// FuzzProofShape changes a proof's shape rather than its bytes: a hash
// dropped, added or two swapped, or the proof claimed for another leaf.
// No such proof verifies. (Claiming another tree size is not in the list:
// RFC 6962 paths of some leaves are the same for neighbouring sizes, which
// is why a checkpoint signs the size with the root.)
func FuzzProofShape(f *testing.F) {
	f.Add(uint16(7), uint16(3), uint8(0), uint8(1))
	f.Add(uint16(8), uint16(7), uint8(1), uint8(2))
	f.Add(uint16(1025), uint16(1024), uint8(2), uint8(0))
	f.Add(uint16(300), uint16(0), uint8(3), uint8(5))
	f.Add(uint16(2), uint16(1), uint8(3), uint8(0))
	f.Fuzz(func(t *testing.T, size, idx uint16, op, at uint8) {
		n := int64(size%1100) + 2
		i := int64(idx) % n
		m := newMemTree()
		for k := int64(0); k < n; k++ {
			m.add(t, rfc6962.DefaultHasher.HashLeaf([]byte{byte(k), byte(k >> 8)}))
		}
		root, _ := tlog.Root(n, m.rng)
		leaf, _ := m.fetch([]fairway.MerkleNodeID{{Index: i}})
		path, err := tlog.Inclusion(i, n, m.fetch)
		if err != nil || tlog.VerifyInclusion(i, n, leaf[0], path, root) != nil {
			t.Fatalf("inclusion %d/%d does not verify: %v", i, n, err)
		}
		bad, bi := clonePath(path), i
		k := int(at) % len(path)
		switch op % 4 {
		case 0:
			bad = append(bad[:k], bad[k+1:]...)
		case 1:
			bad = append(bad, rfc6962.DefaultHasher.EmptyRoot())
		case 2:
			j := (k + 1) % len(bad)
			if bytes.Equal(bad[k], bad[j]) {
				return
			}
			bad[k], bad[j] = bad[j], bad[k]
		case 3:
			bi = (i + 1 + int64(at)) % n
			if bi == i {
				return
			}
		}
		if tlog.VerifyInclusion(bi, n, leaf[0], bad, root) == nil {
			t.Fatalf("a reshaped proof (op %d at %d) of %d/%d verified as leaf %d", op%4, at, i, n, bi)
		}
	})
}
