package ledger_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/ledger"
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

// A log cut back (or swapped for an older copy) under a checkpoint that
// was signed is not signed again: the key would vouch for two histories.
// The ledger refuses to sign a tree that does not extend the newest
// checkpoint stored, and ExtendsCheckpoint tells a signer that remembers
// its last one, when the stored ones went back too.
func TestSignCheckpoint_RefusesALogThatNoLongerExtendsWhatWasSigned(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func() (*ledger.Ledger, func()) { return openLedgerIn(t, dir) }
	skey, _, err := tlog.GenerateKey("fairway.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	l, closeStore := open()
	setUp(t, l, false)
	first := must(l.SignCheckpoint(ctx, skey, "test"))
	// The head as it stood then: an older copy of the file holds it.
	db, err := sql.Open("sqlite", filepath.Join(dir, "fairway.db"))
	if err != nil {
		t.Fatal(err)
	}
	var seq, size int64
	var hash string
	var rng []byte
	if err := db.QueryRow(`SELECT seq, hash, tree_size, tree_range FROM audit_head`).Scan(&seq, &hash, &size, &rng); err != nil || size != first.Size {
		t.Fatalf("head: %v (tree size %d, checkpoint %d)", err, size, first.Size)
	}
	db.Close()
	must(l.CreateLane(as("alice"), fairway.LaneCreate{Name: "later"}))
	second := must(l.SignCheckpoint(ctx, skey, "test"))
	closeStore()
	// The file goes back to the log as it stood at the first checkpoint,
	// the newer checkpoint left in it.
	db, _ = sql.Open("sqlite", filepath.Join(dir, "fairway.db"))
	if _, err := db.Exec(`DELETE FROM audit_events WHERE seq > ?`, seq); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_head SET seq = ?, hash = ?, tree_size = ?, tree_range = ?`, seq, hash, size, rng); err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, closeStore = open()
	_, err = l.SignCheckpoint(ctx, skey, "test")
	if fairway.ErrorCode(err) != fairway.ECONFLICT || !strings.Contains(err.Error(), fmt.Sprintf("no longer extends checkpoint fairway.test/audit/%d", second.Size)) {
		t.Fatalf("signing the cut log: %v, want a conflict naming checkpoint %d", err, second.Size)
	}
	closeStore()
	// The stored checkpoints went back too: the signer's memory of the
	// last one it signed still finds it.
	db, _ = sql.Open("sqlite", filepath.Join(dir, "fairway.db"))
	if _, err := db.Exec(`DELETE FROM audit_checkpoints WHERE size > ` + fmt.Sprint(first.Size)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, closeStore = open()
	defer closeStore()
	if err := l.ExtendsCheckpoint(ctx, second); fairway.ErrorCode(err) != fairway.ECONFLICT {
		t.Fatalf("ExtendsCheckpoint(the one signed before the cut) = %v, want a conflict", err)
	}
	if err := l.ExtendsCheckpoint(ctx, first); err != nil {
		t.Fatalf("ExtendsCheckpoint(the one the log still holds) = %v", err)
	}
}
