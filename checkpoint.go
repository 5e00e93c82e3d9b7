package fairway

import (
	"context"
	"fmt"
	"time"
)

// MerkleNodeID names a complete node of the audit log's Merkle tree: level
// 0 holds the leaves (the event of sequence number Index+1), and node
// (L, I) covers leaves [I·2^L, (I+1)·2^L).
type MerkleNodeID struct {
	Level uint8 `json:"level"`
	Index int64 `json:"index"`
}

// MerkleNode is a complete node and its RFC 6962 hash.
type MerkleNode struct {
	MerkleNodeID
	Hash []byte `json:"hash"`
}

// MerkleAppend is what one event adds to the tree, as the ledger computed
// it: the complete nodes it finishes (its leaf first) and the compact
// range of the tree after it.
type MerkleAppend struct {
	Nodes []MerkleNode
	Range [][]byte
}

// TreeHead is the size and root hash of the audit log's Merkle tree.
type TreeHead struct {
	Size int64  `json:"size"`
	Root []byte `json:"root"`
}

// Checkpoint is a signed tree head in the C2SP signed-note checkpoint
// format: origin, size and root, signed by a key the ledger never holds.
type Checkpoint struct {
	ID     int64  `json:"id"`
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   []byte `json:"root"`
	// Note is the whole signed note, as published.
	Note string `json:"note"`
	// KeyName and VerifierKey name the key that signed it.
	KeyName     string    `json:"key_name"`
	VerifierKey string    `json:"verifier_key"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

// CheckpointInput is a signed checkpoint offered to the ledger, with the
// public key that verifies it.
type CheckpointInput struct {
	Note        string `json:"note"`
	VerifierKey string `json:"verifier_key"`
}

// Validate checks that both parts are present.
func (in *CheckpointInput) Validate() error {
	if in.Note == "" {
		return FieldError("note", "is required: the signed checkpoint text")
	}
	if in.VerifierKey == "" {
		return FieldError("verifier_key", "is required: the public key that verifies the note")
	}
	return nil
}

// CheckpointFilter pages through stored checkpoints, newest first.
type CheckpointFilter struct {
	Limit int `json:"limit,omitempty"`
}

// InclusionProof proves that one event is leaf Seq-1 of the tree of a
// size (RFC 6962 audit path).
type InclusionProof struct {
	Seq      int64       `json:"seq"`
	Size     int64       `json:"size"`
	Root     []byte      `json:"root"`
	Event    *AuditEvent `json:"event"`
	LeafHash []byte      `json:"leaf_hash"`
	Hashes   [][]byte    `json:"hashes"`
}

// ConsistencyProof proves that the tree of size To extends the tree of
// size From (RFC 6962 consistency proof).
type ConsistencyProof struct {
	From     int64    `json:"from"`
	To       int64    `json:"to"`
	FromRoot []byte   `json:"from_root"`
	ToRoot   []byte   `json:"to_root"`
	Hashes   [][]byte `json:"hashes"`
}

// TreeService reads the audit log's Merkle tree, its checkpoints and
// proofs against them.
type TreeService interface {
	// AuditTree returns the current size and root of the tree.
	AuditTree(ctx context.Context) (*TreeHead, error)
	// PublishCheckpoint stores a signed checkpoint after checking its
	// signature and that its root is the tree's root at its size.
	PublishCheckpoint(ctx context.Context, in *CheckpointInput) (*Checkpoint, error)
	// Checkpoints lists stored checkpoints, newest first.
	Checkpoints(ctx context.Context, f CheckpointFilter) ([]*Checkpoint, error)
	// InclusionProof proves event seq is in the tree of the given size.
	InclusionProof(ctx context.Context, seq, size int64) (*InclusionProof, error)
	// ConsistencyProof proves the tree of size to extends that of size from.
	ConsistencyProof(ctx context.Context, from, to int64) (*ConsistencyProof, error)
}

// EncodeTreeRange is how a store keeps the audit tree's compact range in
// the audit head: its 32-byte hashes end to end.
func EncodeTreeRange(rng [][]byte) []byte {
	b := make([]byte, 0, 32*len(rng))
	for _, h := range rng {
		b = append(b, h...)
	}
	return b
}

// DecodeTreeRange reads what EncodeTreeRange wrote.
func DecodeTreeRange(b []byte) ([][]byte, error) {
	if len(b)%32 != 0 {
		return nil, fmt.Errorf("audit head: tree range of %d bytes is not whole hashes", len(b))
	}
	// One copy of the bytes, sliced: each hash is capped at its own 32
	// bytes, so appending to one cannot write into the next.
	all := append([]byte(nil), b...)
	out := make([][]byte, 0, len(b)/32)
	for i := 0; i < len(all); i += 32 {
		out = append(out, all[i:i+32:i+32])
	}
	return out, nil
}
