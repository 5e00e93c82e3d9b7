package fairway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
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
	// TreeFrom is how many events the log held when its tree began: 0
	// for every log but one written before the tree (migration 0008).
	// Past it the tree is never behind the log. Only migrations and a
	// load of an export write it.
	TreeFrom int64 `json:"-"`
}

// GenesisHash is the Prev of the first event.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// LeafData returns the event's encoding: every field other than Hash,
// each written with its length first, so no two different events encode
// alike, whatever bytes they hold; At is written as integer nanoseconds so
// that no time formatting can change it. It is the preimage of Hash and
// the leaf of the log's Merkle tree.
func (e *AuditEvent) LeafData() []byte { return e.AppendLeafData(nil) }

// AppendLeafData appends the event's encoding (LeafData) to dst, so that
// a hash with a prefix (the Merkle tree's leaf) needs no second copy.
func (e *AuditEvent) AppendLeafData(dst []byte) []byte {
	b := slices.Grow(dst, 16+6*8+len(e.Actor)+len(e.ActorKind)+len(e.Action)+len(e.Subject)+len(e.Change)+len(e.Prev))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixNano()))
	for _, f := range [...]string{e.Actor, e.ActorKind, e.Action, e.Subject} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(len(e.Change)))
	b = append(b, e.Change...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(e.Prev)))
	return append(b, e.Prev...)
}

// ComputeHash returns the hash of the event's fields other than Hash.
func (e *AuditEvent) ComputeHash() string {
	var buf [512]byte // the usual event fits; a larger one grows
	sum := sha256.Sum256(e.AppendLeafData(buf[:0]))
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
	// json.Marshal's output is compact and its strings and numbers are
	// already as a second Marshal would write them: only object keys
	// need sorting. The scan below does that without decoding into maps,
	// and gives the same bytes as decoding with UseNumber and encoding
	// again (canonicalSlow), which it falls back to on anything else.
	c := canonicalizer{in: b, out: make([]byte, 0, len(b))}
	if c.value() && c.pos == len(b) {
		return c.out, nil
	}
	return canonicalSlow(b)
}

// canonicalSlow decodes JSON with its numbers as written and encodes it
// again, which sorts object keys.
func canonicalSlow(b []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return json.Marshal(generic)
}

// canonicalizer copies compact JSON from in to out, sorting the keys of
// every object (the last of equal keys wins, as when decoding). Each
// method reports false on anything it does not expect.
type canonicalizer struct {
	in  []byte
	pos int
	out []byte
}

func (c *canonicalizer) value() bool {
	if c.pos >= len(c.in) {
		return false
	}
	switch ch := c.in[c.pos]; {
	case ch == '{':
		return c.object()
	case ch == '[':
		c.out = append(c.out, '[')
		c.pos++
		if c.pos < len(c.in) && c.in[c.pos] == ']' {
			c.out = append(c.out, ']')
			c.pos++
			return true
		}
		for {
			if !c.value() || c.pos >= len(c.in) {
				return false
			}
			ch := c.in[c.pos]
			c.out = append(c.out, ch)
			c.pos++
			if ch == ']' {
				return true
			}
			if ch != ',' {
				return false
			}
		}
	case ch == '"':
		s, ok := c.str()
		c.out = append(c.out, s...)
		return ok
	default:
		start := c.pos
		for c.pos < len(c.in) {
			switch c.in[c.pos] {
			case ',', ']', '}':
				c.out = append(c.out, c.in[start:c.pos]...)
				return c.pos > start
			}
			c.pos++
		}
		c.out = append(c.out, c.in[start:c.pos]...)
		return c.pos > start
	}
}

// str scans a string and returns it as a second Marshal would write it.
func (c *canonicalizer) str() ([]byte, bool) {
	start := c.pos
	c.pos++
	plain := true
	for c.pos < len(c.in) {
		switch ch := c.in[c.pos]; {
		case ch == '\\':
			plain = false
			c.pos += 2
			continue
		case ch == '"':
			c.pos++
			raw := c.in[start:c.pos]
			if plain && utf8.Valid(raw) {
				return raw, true
			}
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return nil, false
			}
			b, err := json.Marshal(s)
			return b, err == nil
		}
		c.pos++
	}
	return nil, false
}

// canonicalPair is one member of an object being canonicalized: its key,
// decoded, for sorting, and where the member ("key":value) stands in out.
type canonicalPair struct {
	key        []byte
	start, end int
}

// object writes each member to out as it is scanned, so an object whose
// keys are already sorted (a struct's, in the common case) is done when
// scanned; another is sorted by moving its members' bytes once.
func (c *canonicalizer) object() bool {
	c.pos++ // {
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.pos++
		c.out = append(c.out, '{', '}')
		return true
	}
	c.out = append(c.out, '{')
	first := len(c.out)
	var small [16]canonicalPair
	pairs := small[:0]
	sorted := true
	for {
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return false
		}
		raw, ok := c.str()
		if !ok || c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return false
		}
		c.pos++
		key := raw[1 : len(raw)-1]
		if bytes.IndexByte(raw, '\\') >= 0 {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return false
			}
			key = []byte(s)
		}
		start := len(c.out)
		c.out = append(c.out, raw...)
		c.out = append(c.out, ':')
		if !c.value() {
			return false
		}
		if n := len(pairs); n > 0 && bytes.Compare(pairs[n-1].key, key) >= 0 {
			sorted = false
		}
		pairs = append(pairs, canonicalPair{key: key, start: start, end: len(c.out)})
		if c.pos >= len(c.in) {
			return false
		}
		ch := c.in[c.pos]
		c.pos++
		if ch == '}' {
			break
		}
		if ch != ',' {
			return false
		}
		c.out = append(c.out, ',')
	}
	if !sorted {
		members := append([]byte(nil), c.out[first:]...)
		slices.SortStableFunc(pairs, func(a, b canonicalPair) int { return bytes.Compare(a.key, b.key) })
		c.out = c.out[:first]
		for i, p := range pairs {
			if i+1 < len(pairs) && bytes.Equal(pairs[i+1].key, p.key) {
				continue // a later equal key wins
			}
			if len(c.out) > first {
				c.out = append(c.out, ',')
			}
			c.out = append(c.out, members[p.start-first:p.end-first]...)
		}
	}
	c.out = append(c.out, '}')
	return true
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
