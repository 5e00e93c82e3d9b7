package tlog

import (
	"fmt"
	"sort"

	"github.com/transparency-dev/merkle/compact"

	"fairway"
)

// Verification is the result of checking a log against signed
// checkpoints.
type Verification struct {
	OK     bool   `json:"ok"`
	Events int64  `json:"events"`
	Root   []byte `json:"root"`
	// Checked lists the checkpoint sizes the log was found to match.
	Checked []int64 `json:"checked"`
	// FirstBadSeq is the first event that can differ from what was
	// signed; zero when OK.
	FirstBadSeq int64  `json:"first_bad_seq,omitempty"`
	Problem     string `json:"problem,omitempty"`
}

// LogVerifier checks a log streamed to it in sequence order: its hash
// chain, and the Merkle root at the size of every checkpoint it was given.
// It trusts nothing it is streamed: every leaf and root is recomputed from
// the events themselves, so a log rewritten with every hash recomputed
// still differs from a checkpoint signed before the rewrite.
type LogVerifier struct {
	chain fairway.AuditVerifier
	rng   *compact.Range
	// points are the checkpoints by size, ascending; next is the first
	// not yet reached.
	points []*fairway.Checkpoint
	next   int
	// good is the largest checkpoint size matched so far.
	good int64
	res  *Verification
	// OnStoredNode, when set, is given every complete node a store keeps
	// (level StoredLevel and up) as the events finish it, so that a
	// verifier can compare them with the stored ones.
	OnStoredNode func(fairway.MerkleNode)
}

// NewLogVerifier returns a verifier against checkpoints already opened
// with a trusted key (Open). Checkpoints of equal size must agree.
func NewLogVerifier(points []*fairway.Checkpoint) *LogVerifier {
	ps := append([]*fairway.Checkpoint(nil), points...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Size < ps[j].Size })
	return &LogVerifier{rng: factory.NewEmptyRange(0), points: ps, res: &Verification{OK: true, Checked: []int64{}}}
}

// Add checks the next event; it returns false once the log is found bad.
func (v *LogVerifier) Add(e *fairway.AuditEvent) bool {
	if !v.res.OK {
		return false
	}
	if !v.chain.Add(e) {
		bad := v.chain.Finish(fairway.AuditHead{})
		return v.fail(bad.FirstBadSeq, bad.Problem)
	}
	if err := v.rng.Append(LeafHash(e), storedNodes(v.OnStoredNode)); err != nil {
		return v.fail(e.Seq, err.Error())
	}
	v.res.Events++
	return v.check()
}

// check compares the root with every checkpoint of the current size.
func (v *LogVerifier) check() bool {
	size := int64(v.rng.End())
	for v.next < len(v.points) && v.points[v.next].Size == size {
		c := v.points[v.next]
		root, err := v.rng.GetRootHash(nil)
		if err != nil {
			return v.fail(size, err.Error())
		}
		if !SameRoot(root, c.Root) {
			return v.diverged(c)
		}
		if n := len(v.res.Checked); n == 0 || v.res.Checked[n-1] != size {
			v.res.Checked = append(v.res.Checked, size)
		}
		v.good = size
		v.next++
	}
	return true
}

// diverged names where the log stops being what checkpoint c signed: after
// the last checkpoint it still matched, and no later than c.
func (v *LogVerifier) diverged(c *fairway.Checkpoint) bool {
	first := v.good + 1
	if first == c.Size {
		return v.fail(first, fmt.Sprintf("event %d differs from what checkpoint %s/%d signed (events 1 to %d match checkpoint %d): the log was rewritten", first, c.Origin, c.Size, v.good, v.good))
	}
	return v.fail(first, fmt.Sprintf("events 1 to %d do not hash to the root checkpoint %s/%d signed; they matched checkpoint %d, so the first rewritten event is between %d and %d: the log was rewritten", c.Size, c.Origin, c.Size, v.good, first, c.Size))
}

func (v *LogVerifier) fail(seq int64, problem string) bool {
	v.res.OK, v.res.FirstBadSeq, v.res.Problem = false, seq, problem
	return false
}

// Finish reports the result once the whole log was streamed: a checkpoint
// larger than the log means events were cut off.
func (v *LogVerifier) Finish() *Verification {
	if root, err := v.rng.GetRootHash(nil); err == nil && root != nil {
		v.res.Root = root
	} else if v.rng.End() == 0 {
		v.res.Root = EmptyRoot()
	}
	if v.res.OK && v.next < len(v.points) {
		c := v.points[v.next]
		v.fail(v.res.Events+1, fmt.Sprintf("the log ends at event %d but checkpoint %s/%d signed %d events: events %d to %d are missing (truncated)", v.res.Events, c.Origin, c.Size, c.Size, v.res.Events+1, c.Size))
	}
	return v.res
}
