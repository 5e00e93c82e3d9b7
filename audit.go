package fairway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEvent is one appended, hash-chained record of a change. Hash covers
// every other field, and Prev is the hash of the event before it, so an
// edit, deletion, insertion or reordering breaks the chain.
type AuditEvent struct {
	Seq       int64           `json:"seq"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"`
	ActorKind string          `json:"actor_kind"`
	Action    string          `json:"action"`
	Subject   string          `json:"subject"`
	Change    json.RawMessage `json:"change"`
	Prev      string          `json:"prev"`
	Hash      string          `json:"hash"`
}

// AuditHead is the last sequence number and hash of the log. Stores keep it
// apart from the events so that cutting off the log's tail is detected.
// It also carries the compact range of the log's Merkle tree, so that the
// next leaf is appended in O(log n) without reading the tree.
type AuditHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	// TreeSize is how many events the Merkle tree holds: Seq, unless the
	// log predates the tree, when the ledger catches it up.
	TreeSize int64 `json:"-"`
	// Range holds the roots of the perfect subtrees covering leaves
	// [0, TreeSize), left to right (RFC 6962 hashes, 32 bytes each).
	Range [][]byte `json:"-"`
}

// GenesisHash is the Prev of the first event.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// LeafData returns the event's encoding: every field other than Hash,
// each written with its length first, so no two different events encode
// alike, whatever bytes they hold; At is written as integer nanoseconds so
// that no time formatting can change it. It is the preimage of Hash and
// the leaf of the log's Merkle tree.
func (e *AuditEvent) LeafData() []byte {
	fields := [][]byte{[]byte(e.Actor), []byte(e.ActorKind), []byte(e.Action), []byte(e.Subject), e.Change, []byte(e.Prev)}
	size := 16
	for _, f := range fields {
		size += 8 + len(f)
	}
	b := make([]byte, 0, size)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixNano()))
	for _, f := range fields {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// ComputeHash returns the hash of the event's fields other than Hash.
func (e *AuditEvent) ComputeHash() string {
	sum := sha256.Sum256(e.LeafData())
	return hex.EncodeToString(sum[:])
}

// Seal sets Seq, Prev and Hash so the event follows head.
func (e *AuditEvent) Seal(head AuditHead) {
	e.Seq = head.Seq + 1
	e.Prev = head.Hash
	if head.Seq == 0 {
		e.Prev = GenesisHash
	}
	e.Hash = e.ComputeHash()
}

// CanonicalJSON encodes v as JSON with object keys sorted and no
// insignificant space, so equal values always hash alike.
func CanonicalJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return json.Marshal(generic)
}

// AuditFilter pages through the log in sequence order.
type AuditFilter struct {
	AfterSeq int64  `json:"after_seq,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Limit    int    `json:"limit,omitempty"`
}

// AuditVerification is the result of recomputing the whole chain.
type AuditVerification struct {
	OK     bool      `json:"ok"`
	Events int64     `json:"events"`
	Head   AuditHead `json:"head"`
	// FirstBadSeq is the first sequence number where the log stops being
	// what was written; zero when OK.
	FirstBadSeq int64  `json:"first_bad_seq,omitempty"`
	Problem     string `json:"problem,omitempty"`
}

// AuditService reads and verifies the audit log.
type AuditService interface {
	AuditLog(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	VerifyAudit(ctx context.Context) (*AuditVerification, error)
	// Watch calls fn with every event after f.AfterSeq (and about
	// f.Subject, when set), in order, as they are appended, until ctx ends
	// (it then returns nil) or fn returns an error (returned).
	Watch(ctx context.Context, f AuditFilter, fn func(*AuditEvent) error) error
}

// AuditVerifier checks a log streamed to it in sequence order.
type AuditVerifier struct {
	prev   AuditHead
	events int64
	bad    *AuditVerification
}

// Add checks the next event. It returns false once the log is found bad;
// further events are then ignored.
func (v *AuditVerifier) Add(e *AuditEvent) bool {
	if v.bad != nil {
		return false
	}
	want := v.prev.Seq + 1
	prevHash := v.prev.Hash
	if v.prev.Seq == 0 {
		prevHash = GenesisHash
	}
	switch {
	case e.Seq > want:
		v.fail(want, fmt.Sprintf("event %d is missing: the log jumps from %d to %d (deleted)", want, v.prev.Seq, e.Seq))
	case e.Seq < want:
		v.fail(want, fmt.Sprintf("event %d appears where %d was expected (duplicated or renumbered)", e.Seq, want))
	case e.Hash != e.ComputeHash():
		v.fail(e.Seq, fmt.Sprintf("event %d does not match its hash (edited)", e.Seq))
	case e.Prev != prevHash:
		v.fail(e.Seq, fmt.Sprintf("event %d does not follow event %d: its previous hash differs (inserted or reordered)", e.Seq, v.prev.Seq))
	default:
		v.prev = AuditHead{Seq: e.Seq, Hash: e.Hash}
		v.events++
		return true
	}
	return false
}

// Finish compares the end of the log with the head kept apart from it.
func (v *AuditVerifier) Finish(head AuditHead) *AuditVerification {
	if v.bad != nil {
		v.bad.Events = v.events
		v.bad.Head = head
		return v.bad
	}
	res := &AuditVerification{OK: true, Events: v.events, Head: head}
	switch {
	case head.Seq > v.prev.Seq:
		res.OK, res.FirstBadSeq = false, v.prev.Seq+1
		res.Problem = fmt.Sprintf("events %d to %d are missing: the head says the log ends at %d (truncated)", v.prev.Seq+1, head.Seq, head.Seq)
	case head.Seq < v.prev.Seq:
		res.OK, res.FirstBadSeq = false, head.Seq+1
		res.Problem = fmt.Sprintf("events after %d were not written through the ledger: the head ends at %d (appended)", head.Seq, head.Seq)
	case head.Hash != v.prev.Hash && head.Seq > 0:
		res.OK, res.FirstBadSeq = false, head.Seq
		res.Problem = fmt.Sprintf("event %d differs from the recorded head hash", head.Seq)
	}
	return res
}

func (v *AuditVerifier) fail(seq int64, problem string) {
	v.bad = &AuditVerification{OK: false, FirstBadSeq: seq, Problem: problem}
}
