package tlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"fairway"
)

// ReadVerifierKey takes a verifier key, or the name of a file holding one,
// and checks that it is an Ed25519 signed-note verifier key.
func ReadVerifierKey(key string) (string, error) {
	if key == "" {
		return "", errors.New("a public verifier key, or a file holding it, is required")
	}
	b, err := os.ReadFile(key)
	switch {
	case err == nil:
		key = strings.TrimSpace(string(b))
	case errors.Is(err, fs.ErrNotExist) && strings.Count(key, "+") >= 2:
		// The key itself, as `fairway keys generate` prints it (its
		// base64 part may hold '+' too).
		if _, _, kerr := PublicKey(key); kerr != nil {
			return "", err
		}
	default:
		return "", err
	}
	if _, _, err := PublicKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// OpenFile reads a signed checkpoint file and verifies it with vkey.
func OpenFile(file, vkey string) (*Checkpoint, error) {
	msg, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	c, err := Open(msg, vkey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// Checkpoint is a verified checkpoint.
type Checkpoint = fairway.Checkpoint

// VerifyLog streams an exported log (JSON lines, one audit event each, as
// `fairway audit export` writes) through a LogVerifier against the given
// verified checkpoints. A line that is not an event is reported with its
// number.
func VerifyLog(r io.Reader, points []*Checkpoint) (*Verification, error) {
	v := NewLogVerifier(points)
	dec := json.NewDecoder(bufio.NewReader(r))
	for line := 1; ; line++ {
		var e fairway.AuditEvent
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("record %d: %v", line, err)
		}
		if !v.Add(&e) {
			break
		}
	}
	return v.Finish(), nil
}

// CheckInclusion checks an inclusion proof as the ledger hands it out
// against a verified checkpoint, trusting nothing in it but the path: the
// leaf is recomputed from the event, the root and size are the signed ones.
func CheckInclusion(p *fairway.InclusionProof, c *Checkpoint) error {
	e := p.Event
	switch {
	case e == nil:
		return errors.New("the proof holds no event")
	case e.Seq != p.Seq:
		return fmt.Errorf("the proof is of event %d but holds event %d", p.Seq, e.Seq)
	case !Rehash(e):
		return fmt.Errorf("event %d does not match its own hash (edited)", e.Seq)
	case p.Size != c.Size:
		return fmt.Errorf("the proof is against a tree of %d events, but the checkpoint signs %d", p.Size, c.Size)
	}
	if err := VerifyInclusion(e.Seq-1, c.Size, LeafHash(e), p.Hashes, c.Root); err != nil {
		return fmt.Errorf("event %d is NOT in the log checkpoint %s/%d signed: %v", e.Seq, c.Origin, c.Size, err)
	}
	return nil
}

// CheckConsistency checks that checkpoint newer extends checkpoint older
// with the proof hashes given (none when the sizes are equal or older is
// empty).
func CheckConsistency(older, newer *Checkpoint, hashes [][]byte) error {
	if older.Size > newer.Size {
		return fmt.Errorf("the log shrank: checkpoint %d (root %s) is larger than the newer checkpoint %d (root %s)", older.Size, b64(older.Root), newer.Size, b64(newer.Root))
	}
	if err := VerifyConsistency(older.Size, newer.Size, hashes, older.Root, newer.Root); err != nil {
		return fmt.Errorf("checkpoint %d (root %s) does NOT extend checkpoint %d (root %s): %v", newer.Size, b64(newer.Root), older.Size, b64(older.Root), err)
	}
	return nil
}

// Rehash reports whether an event matches its hash. `--json` output
// keeps an event's change as stored (fairway.MarshalIndent), but a proof
// printed by an earlier fairway, or re-indented by a tool, has it
// re-spaced; the ledger hashes the compact form, so that is tried too,
// and kept when it matches.
func Rehash(e *fairway.AuditEvent) bool {
	if e.Hash == e.ComputeHash() {
		return true
	}
	var b bytes.Buffer
	if json.Compact(&b, e.Change) != nil {
		return false
	}
	orig := e.Change
	e.Change = b.Bytes()
	if e.Hash == e.ComputeHash() {
		return true
	}
	e.Change = orig
	return false
}

// Difference is where two exported logs part.
type Difference struct {
	// Seq is the first sequence number at which they differ; zero when
	// one is a prefix of the other.
	Seq int64 `json:"seq"`
	// Old and New are the two events at Seq; nil where a log has ended.
	Old *fairway.AuditEvent `json:"old,omitempty"`
	New *fairway.AuditEvent `json:"new,omitempty"`
}

// FirstDifference reads two exported logs in step and returns where they
// first differ, comparing each event's leaf hash (every field but its own
// hash). A log that ends before the other differs at its end.
func FirstDifference(older, newer io.Reader) (*Difference, error) {
	a, b := json.NewDecoder(bufio.NewReader(older)), json.NewDecoder(bufio.NewReader(newer))
	next := func(d *json.Decoder, which string, n int64) (*fairway.AuditEvent, error) {
		var e fairway.AuditEvent
		if err := d.Decode(&e); errors.Is(err, io.EOF) {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s log, record %d: %v", which, n, err)
		}
		Rehash(&e)
		return &e, nil
	}
	for n := int64(1); ; n++ {
		x, err := next(a, "older", n)
		if err != nil {
			return nil, err
		}
		y, err := next(b, "newer", n)
		if err != nil {
			return nil, err
		}
		switch {
		case x == nil && y == nil:
			return &Difference{}, nil
		case x == nil || y == nil:
			if x == nil && y != nil {
				return &Difference{}, nil // the newer log only grew
			}
			return &Difference{Seq: n, Old: x}, nil
		case !bytes.Equal(LeafHash(x), LeafHash(y)):
			return &Difference{Seq: n, Old: x, New: y}, nil
		}
	}
}
