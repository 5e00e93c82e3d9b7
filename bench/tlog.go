package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"fairway"
	"fairway/ledger"
	"fairway/sqlite"
	"fairway/tlog"
)

// appendAudit is one durable write of one audit event, with its Merkle
// nodes when tree is true: what every ledger write adds to its rows.
func appendAudit(ctx context.Context, s *sqlite.Store, i int64, tree bool) error {
	return s.Update(ctx, func(tx fairway.Tx) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		e := &fairway.AuditEvent{At: time.Unix(i, 0).UTC(), Actor: "alice", ActorKind: "human", Action: "task.update",
			Subject: fmt.Sprintf("OPS-FIX-%06d", i), Change: []byte(`{"status":"in_progress","title":"Restore compute capacity"}`)}
		e.Seal(head)
		var app *fairway.MerkleAppend
		if tree {
			if app, err = tlog.Append(head.TreeSize, head.Range, tlog.LeafHash(e)); err != nil {
				return err
			}
		}
		return tx.AppendAudit(e, app)
	})
}

// AppendFigures compare durable audit appends with and without the
// Merkle tree, as medians over alternating rounds.
type AppendFigures struct {
	// Plain and Tree are appends per second.
	Plain, Tree float64
	// PlainCPU and TreeCPU are this process's processor time per append.
	PlainCPU, TreeCPU time.Duration
	// RateRatio and CPURatio are the medians of each round's tree figure
	// over its plain one: the two ran back to back, on the same machine
	// load, so their ratio is steadier than the ratio of the medians.
	RateRatio, CPURatio float64
}

// TreeAppends measures durable audit appends from writers goroutines on
// two stores, one keeping the Merkle tree and one not, in rounds of
// total/rounds appends that alternate between them so both see the same
// disk and the same neighbours; each figure is the median of its rounds,
// so that one round slowed by another process does not decide it.
func TreeAppends(ctx context.Context, dir string, opts sqlite.Options, writers, total, rounds int) (*AppendFigures, error) {
	var stores [2]*sqlite.Store
	for k := range stores {
		var err error
		if stores[k], err = sqlite.Open(ctx, filepath.Join(dir, fmt.Sprintf("tree-%d-%d", writers, k), "fairway.db"), opts); err != nil {
			return nil, err
		}
		defer stores[k].Close()
	}
	return alternate(writers, total, rounds, func(k int, i int64) error { return appendAudit(ctx, stores[k], i, k == 1) })
}

// TreeWrites is TreeAppends for whole durable ledger writes: task
// creations through the ledger, on one ledger keeping the tree and one
// measured without it (ledger.Ledger.SkipTree), in alternating rounds.
func TreeWrites(ctx context.Context, dir string, opts sqlite.Options, writers, total, rounds int) (*AppendFigures, error) {
	var ledgers [2]*ledger.Ledger
	var as [2]context.Context
	for k := range ledgers {
		l, s, a, _, err := OpenLedger(ctx, filepath.Join(dir, fmt.Sprintf("tree-writes-%d-%d", writers, k)), opts)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		l.SkipTree = k == 0
		ledgers[k], as[k] = l, a
	}
	return alternate(writers, total, rounds, func(k int, i int64) error {
		_, err := ledgers[k].CreateTask(as[k], fairway.TaskCreate{Key: fmt.Sprintf("W-%d", i), Title: "write", Risk: "low"})
		return err
	})
}

// alternate runs total/rounds writes of each kind k (0 without the tree,
// 1 with it) per round, in an order that alternates, and returns the
// medians; i numbers each kind's writes from 1.
func alternate(writers, total, rounds int, write func(k int, i int64) error) (*AppendFigures, error) {
	var rates [2][]float64
	var cpus [2][]time.Duration
	per := total / rounds
	var seq [2]int64
	for r := 0; r < rounds; r++ {
		for k := range 2 {
			// Alternate which goes first, so neither always follows the
			// other's fsyncs.
			k = (k + r) % 2
			start, cpu := time.Now(), CPUTime()
			base := seq[k]
			if _, err := parallel(writers, per, func(i int64) error { return write(k, base+i) }); err != nil {
				return nil, err
			}
			rates[k] = append(rates[k], float64(per)/time.Since(start).Seconds())
			cpus[k] = append(cpus[k], (CPUTime()-cpu)/time.Duration(per))
			seq[k] += int64(per)
		}
	}
	f := &AppendFigures{Plain: median(rates[0]), Tree: median(rates[1]), PlainCPU: Median(cpus[0]), TreeCPU: Median(cpus[1])}
	var rateRatios, cpuRatios []float64
	for r := range rates[0] {
		rateRatios = append(rateRatios, rates[1][r]/rates[0][r])
		cpuRatios = append(cpuRatios, float64(cpus[1][r])/float64(cpus[0][r]))
	}
	f.RateRatio, f.CPURatio = median(rateRatios), median(cpuRatios)
	return f, nil
}

func median(r []float64) float64 {
	s := append([]float64(nil), r...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// bigTree is an RFC 6962 tree of synthetic leaves kept in memory: every
// node from level keepFrom up, the levels below recomputed on demand (a
// subtree of at most 2^keepFrom leaves).
type bigTree struct {
	size   int64
	levels [][]byte // flat 32-byte hashes per level
}

const keepFrom = 3

func bigLeaf(i int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return rfc6962.DefaultHasher.HashLeaf(b[:])
}

func newBigTree(n int64) (*bigTree, []byte, error) {
	t := &bigTree{size: n, levels: make([][]byte, 64)}
	for l := keepFrom; l < 64 && n>>l > 0; l++ {
		t.levels[l] = make([]byte, 0, (n>>l)*32)
	}
	r := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	for i := int64(0); i < n; i++ {
		err := r.Append(bigLeaf(i), func(id compact.NodeID, h []byte) {
			if id.Level >= keepFrom {
				t.levels[id.Level] = append(t.levels[id.Level], h...)
			}
		})
		if err != nil {
			return nil, nil, err
		}
	}
	root, err := r.GetRootHash(nil)
	return t, root, err
}

func (t *bigTree) node(level uint8, index int64) []byte {
	if level >= keepFrom {
		return t.levels[level][index*32 : index*32+32]
	}
	if level == 0 {
		return bigLeaf(index)
	}
	return rfc6962.DefaultHasher.HashChildren(t.node(level-1, 2*index), t.node(level-1, 2*index+1))
}

func (t *bigTree) fetch(ids []fairway.MerkleNodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = t.node(id.Level, id.Index)
	}
	return out, nil
}

// TreeFigures are the sizes and times of proofs in a large tree.
type TreeFigures struct {
	Events int64
	Build  time.Duration
	// Inclusion and consistency proofs: hashes, bytes as JSON (as the API
	// serves them, event aside), median build and verify time.
	InclusionHashes, InclusionJSON         int
	InclusionBuild, InclusionVerify        time.Duration
	ConsistencyHashes, ConsistencyJSON     int
	ConsistencyBuild, ConsistencyVerify    time.Duration
	CheckpointOpen, CheckpointOpenAndProve time.Duration
}

// Tree builds a tree of n synthetic events in memory (not through the
// ledger) and measures proofs of random leaves and a signed checkpoint
// over it.
func Tree(n int64, samples int) (*TreeFigures, error) {
	f := &TreeFigures{Events: n}
	start := time.Now()
	t, root, err := newBigTree(n)
	if err != nil {
		return nil, err
	}
	f.Build = time.Since(start)
	rng := rand.New(rand.NewPCG(1, 2))
	var incB, incV, conB, conV []time.Duration
	for range samples {
		i := rng.Int64N(n)
		s := time.Now()
		path, err := tlog.Inclusion(i, n, t.fetch)
		if err != nil {
			return nil, err
		}
		incB = append(incB, time.Since(s))
		leaf := bigLeaf(i)
		s = time.Now()
		if err := tlog.VerifyInclusion(i, n, leaf, path, root); err != nil {
			return nil, fmt.Errorf("inclusion %d/%d: %w", i, n, err)
		}
		incV = append(incV, time.Since(s))
		if len(path) > f.InclusionHashes {
			f.InclusionHashes = len(path)
			b, _ := json.Marshal(&fairway.InclusionProof{Seq: i + 1, Size: n, Root: root, LeafHash: leaf, Hashes: path})
			f.InclusionJSON = len(b)
		}
		m := 1 + rng.Int64N(n-1)
		old, err := tlog.RootAt(m, t.fetch)
		if err != nil {
			return nil, err
		}
		s = time.Now()
		cons, err := tlog.Consistency(m, n, t.fetch)
		if err != nil {
			return nil, err
		}
		conB = append(conB, time.Since(s))
		s = time.Now()
		if err := tlog.VerifyConsistency(m, n, cons, old, root); err != nil {
			return nil, fmt.Errorf("consistency %d→%d: %w", m, n, err)
		}
		conV = append(conV, time.Since(s))
		if len(cons) > f.ConsistencyHashes {
			f.ConsistencyHashes = len(cons)
			b, _ := json.Marshal(&fairway.ConsistencyProof{From: m, To: n, FromRoot: old, ToRoot: root, Hashes: cons})
			f.ConsistencyJSON = len(b)
		}
	}
	f.InclusionBuild, f.InclusionVerify, f.ConsistencyBuild, f.ConsistencyVerify = Median(incB), Median(incV), Median(conB), Median(conV)

	skey, vkey, err := tlog.GenerateKey("bench.fairway/audit")
	if err != nil {
		return nil, err
	}
	cp, err := tlog.Sign(skey, &fairway.TreeHead{Size: n, Root: root})
	if err != nil {
		return nil, err
	}
	note := []byte(cp.Note)
	if f.CheckpointOpen, err = Time(samples, func() error { _, err := tlog.Open(note, vkey); return err }); err != nil {
		return nil, err
	}
	i := n / 3
	path, _ := tlog.Inclusion(i, n, t.fetch)
	leaf := bigLeaf(i)
	f.CheckpointOpenAndProve, err = Time(samples, func() error {
		c, err := tlog.Open(note, vkey)
		if err != nil {
			return err
		}
		return tlog.VerifyInclusion(i, c.Size, leaf, path, c.Root)
	})
	return f, err
}

// LogVerify measures how many events per second an offline verifier
// checks from an exported log (JSON lines) against a checkpoint: the hash
// chain, each leaf and the root.
func LogVerify(n int) (float64, error) {
	var buf bytes.Buffer
	head := fairway.AuditHead{}
	r := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	enc := json.NewEncoder(&buf)
	for i := 1; i <= n; i++ {
		e := &fairway.AuditEvent{At: time.Unix(int64(i), 0).UTC(), Actor: "alice", ActorKind: "human", Action: "task.update",
			Subject: fmt.Sprintf("OPS-FIX-%06d", i), Change: []byte(`{"status":"in_progress","title":"Restore compute capacity"}`)}
		e.Seal(head)
		head = fairway.AuditHead{Seq: e.Seq, Hash: e.Hash}
		if err := r.Append(tlog.LeafHash(e), nil); err != nil {
			return 0, err
		}
		if err := enc.Encode(e); err != nil {
			return 0, err
		}
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	v, err := tlog.VerifyLog(bytes.NewReader(buf.Bytes()), []*fairway.Checkpoint{{Origin: "bench", Size: int64(n), Root: root}})
	if err != nil {
		return 0, err
	}
	if !v.OK {
		return 0, fmt.Errorf("the log does not verify: %s", v.Problem)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
