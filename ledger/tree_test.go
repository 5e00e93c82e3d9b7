package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"fairway"
	"fairway/tlog"
)

// Proofs across the stored level's block edges (63, 64, 65, 127, 128 and
// 129 events): every inclusion proof of every event and every
// consistency proof to those sizes verify against roots computed from
// the events alone, trusting nothing the store keeps. The newest events
// of a partial block are proved from nodes hashed from their events.
func TestTree_ProofsAcrossBlockEdgesVerifyFromEventsAlone(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	for i := 0; ; i++ {
		head := must(l.AuditTree(ctx))
		if head.Size >= 129 {
			break
		}
		must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: fmt.Sprintf("OPS-FIX-%03d", 100+i), Title: "one more event"}))
	}
	events := must(l.AuditLog(as("alice"), fairway.AuditFilter{Limit: 129}))
	// roots[n] is the root of the first n events, from their leaf hashes.
	roots := map[int64][]byte{}
	var rng [][]byte
	for i, e := range events {
		tree, err := tlog.Append(int64(i), rng, tlog.LeafHash(e))
		if err != nil {
			t.Fatal(err)
		}
		rng = tree.Range
		roots[int64(i+1)] = must(tlog.Root(int64(i+1), rng))
	}
	for _, size := range []int64{63, 64, 65, 127, 128, 129} {
		for seq := int64(1); seq <= size; seq++ {
			p := must(l.InclusionProof(ctx, seq, size))
			if !bytes.Equal(p.Root, roots[size]) || !bytes.Equal(p.LeafHash, tlog.LeafHash(events[seq-1])) {
				t.Fatalf("inclusion of %d in %d: root or leaf is not the events'", seq, size)
			}
			if err := tlog.VerifyInclusion(seq-1, size, p.LeafHash, p.Hashes, roots[size]); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", seq, size, err)
			}
			c := must(l.ConsistencyProof(ctx, seq, size))
			if !bytes.Equal(c.FromRoot, roots[seq]) || !bytes.Equal(c.ToRoot, roots[size]) {
				t.Fatalf("consistency %d to %d: roots are not the events'", seq, size)
			}
			if err := tlog.VerifyConsistency(seq, size, c.Hashes, roots[seq], roots[size]); err != nil {
				t.Fatalf("consistency %d to %d: %v", seq, size, err)
			}
		}
	}
}

// A ledger measured without its tree (SkipTree) leaves the tree behind
// its log, as a forger who cut the tree back would: audit verify fails
// it, and an ordinary write refuses to hash whatever events stand there
// into the tree.
func TestTree_SkippedLeavesAreNeverCaughtUp(t *testing.T) {
	ctx := context.Background()
	l := MustOpenLedger(t)
	setUp(t, l, false)
	before := must(l.AuditTree(ctx)).Size
	l.SkipTree = true
	for i := range 70 {
		must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: fmt.Sprintf("OPS-SKIP-%03d", i), Title: "written without its leaf"}))
	}
	if got := must(l.AuditTree(ctx)).Size; got != before {
		t.Fatalf("tree size after writes without the tree = %d, want %d (unchanged)", got, before)
	}
	v := must(l.VerifyAudit(ctx))
	if v.OK || v.FirstBadSeq != before+1 {
		t.Fatalf("audit verify of a tree behind its log = %+v, want a failure at event %d", v, before+1)
	}
	l.SkipTree = false
	_, err := l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-SKIP-END", Title: "an ordinary write"})
	if fairway.ErrorCode(err) != fairway.EINTERNAL || !strings.Contains(err.Error(), "the head was edited") {
		t.Fatalf("an ordinary write over a tree behind its log: %v, want it refused as an edited head", err)
	}
	if got := must(l.AuditTree(ctx)).Size; got != before {
		t.Fatalf("tree size after the refused write = %d, want %d", got, before)
	}
}
