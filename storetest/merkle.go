package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/tlog"
)

// appendEvents appends n events with their tree nodes, one write each.
func appendEvents(t *testing.T, s fairway.Store, n int) []*fairway.AuditEvent {
	t.Helper()
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var out []*fairway.AuditEvent
	for i := 0; i < n; i++ {
		update(t, s, func(tx fairway.Tx) error {
			head, err := tx.AuditHead()
			if err != nil {
				return err
			}
			e := &fairway.AuditEvent{At: at.Add(time.Duration(i) * time.Second), Actor: "alice", ActorKind: "human",
				Action: "task.create", Subject: fmt.Sprintf("T-%d", i), Change: []byte(`{}`)}
			e.Seal(head)
			tree, err := tlog.Append(head.TreeSize, head.Range, tlog.LeafHash(e))
			if err != nil {
				return err
			}
			out = append(out[:i], e)
			return tx.AppendAudit(e, tree)
		})
	}
	return out
}

// The store keeps the tree nodes and the head's compact range as given:
// every node the ledger gave it (one per 64 events and those above) reads
// back, the range yields the root of the events, and a node never stored
// is ENOTFOUND.
func testMerkleTreeKept(t *testing.T, s fairway.Store) {
	events := appendEvents(t, s, 130)
	view(t, s, func(tx fairway.Tx) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if head.Seq != 130 || head.TreeSize != 130 || len(head.Range) != 2 {
			t.Fatalf("head = seq %d tree %d range %d hashes; want 130, 130, 2", head.Seq, head.TreeSize, len(head.Range))
		}
		var want []fairway.MerkleNode
		v := tlog.NewLogVerifier(nil)
		v.OnStoredNode = func(n fairway.MerkleNode) { want = append(want, n) }
		for _, e := range events {
			v.Add(e)
		}
		ids := make([]fairway.MerkleNodeID, len(want))
		for i, n := range want {
			ids[i] = n.MerkleNodeID
		}
		if fmt.Sprint(ids) != "[{6 0} {6 1} {7 0}]" {
			t.Fatalf("nodes to store = %v, want 6/0, 6/1, 7/0", ids)
		}
		got, err := tx.MerkleHashes(ids)
		if err != nil {
			return err
		}
		for i, n := range want {
			if !bytes.Equal(got[i], n.Hash) {
				t.Errorf("node %v = %x, want %x", n.MerkleNodeID, got[i], n.Hash)
			}
		}
		root, err := tlog.Root(head.TreeSize, head.Range)
		if err != nil {
			return err
		}
		if want := v.Finish().Root; !bytes.Equal(root, want) {
			t.Errorf("root from the stored range = %x, want %x", root, want)
		}
		// Node 6/2 would need 192 events; level 0 is never stored.
		_, err = tx.MerkleHashes([]fairway.MerkleNodeID{{Level: 6, Index: 0}, {Level: 6, Index: 2}})
		wantCode(t, err, fairway.ENOTFOUND)
		_, err = tx.MerkleHashes([]fairway.MerkleNodeID{{Level: 0, Index: 1}})
		wantCode(t, err, fairway.ENOTFOUND)
		return nil
	})
}

// A write that fails leaves the head's tree where it was, also when other
// writes share its commit.
func testMerkleRollbackKeepsTree(t *testing.T, s fairway.Store) {
	appendEvents(t, s, 63)
	var before fairway.AuditHead
	view(t, s, func(tx fairway.Tx) (err error) { before, err = tx.AuditHead(); return err })
	err := s.Update(ctx, func(tx fairway.Tx) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		e := &fairway.AuditEvent{At: time.Unix(100, 0).UTC(), Actor: "a", ActorKind: "human", Action: "x", Subject: "y", Change: []byte(`{}`)}
		e.Seal(head)
		tree, err := tlog.Append(head.TreeSize, head.Range, tlog.LeafHash(e))
		if err != nil {
			return err
		}
		if err := tx.AppendAudit(e, tree); err != nil {
			return err
		}
		return fairway.Errorf(fairway.EINVALID, "refused after appending")
	})
	wantCode(t, err, fairway.EINVALID)
	view(t, s, func(tx fairway.Tx) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if head.TreeSize != before.TreeSize || !equalRanges(head.Range, before.Range) {
			t.Errorf("tree after a failed write = %d %x, want %d %x", head.TreeSize, head.Range, before.TreeSize, before.Range)
		}
		// The refused 64th event would have finished node 6/0.
		_, err = tx.MerkleHashes([]fairway.MerkleNodeID{{Level: 6, Index: 0}})
		wantCode(t, err, fairway.ENOTFOUND)
		return nil
	})
}

func equalRanges(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Checkpoints are listed newest first; the same note twice is ECONFLICT
// and the transaction stays usable.
func testCheckpointsKept(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	cp := func(size int64, note string) *fairway.Checkpoint {
		return &fairway.Checkpoint{Origin: "o", Size: size, Root: bytes.Repeat([]byte{byte(size)}, 32), Note: note, KeyName: "o", VerifierKey: "o+1+AQ", CreatedAt: at, CreatedBy: "alice"}
	}
	for _, c := range []*fairway.Checkpoint{cp(2, "a"), cp(5, "b"), cp(5, "c")} {
		update(t, s, func(tx fairway.Tx) error { return tx.InsertCheckpoint(c) })
		if c.ID == 0 {
			t.Fatalf("checkpoint %s got no ID", c.Note)
		}
	}
	update(t, s, func(tx fairway.Tx) error {
		wantCode(t, tx.InsertCheckpoint(cp(7, "a")), fairway.ECONFLICT)
		return tx.InsertCheckpoint(cp(9, "d"))
	})
	view(t, s, func(tx fairway.Tx) error {
		all, err := tx.Checkpoints(0)
		if err != nil {
			return err
		}
		var got []string
		for _, c := range all {
			got = append(got, fmt.Sprintf("%d:%s", c.Size, c.Note))
		}
		if want := "[9:d 5:c 5:b 2:a]"; fmt.Sprint(got) != want {
			t.Errorf("checkpoints = %v, want %s", got, want)
		}
		if !bytes.Equal(all[3].Root, bytes.Repeat([]byte{2}, 32)) || !all[3].CreatedAt.Equal(at) || all[3].CreatedBy != "alice" {
			t.Errorf("checkpoint round trip = %+v", all[3])
		}
		one, err := tx.Checkpoints(1)
		if err != nil || len(one) != 1 || one[0].Note != "d" {
			t.Errorf("Checkpoints(1) = %v, %v; want d", one, err)
		}
		return nil
	})
}

// The ledger keeps the tree with every write: its root is the root of the
// events, proofs from stored nodes verify, and a checkpoint is stored
// only when its signature and root hold.
func testLedgerTreeAndCheckpoints(t *testing.T, e *env) {
	e.task(t, "TREE-1")
	e.task(t, "TREE-2")
	head, err := e.l.AuditTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events, err := e.l.AuditLog(ctx, fairway.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	v := tlog.NewLogVerifier(nil)
	for _, ev := range events {
		v.Add(ev)
	}
	if head.Size != int64(len(events)) || !bytes.Equal(head.Root, v.Finish().Root) {
		t.Fatalf("tree = %d %x, want %d events with root %x", head.Size, head.Root, len(events), v.Finish().Root)
	}
	for seq := int64(1); seq <= head.Size; seq++ {
		p, err := e.l.InclusionProof(ctx, seq, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.VerifyInclusion(seq-1, head.Size, tlog.LeafHash(events[seq-1]), p.Hashes, head.Root); err != nil {
			t.Fatalf("inclusion of %d: %v", seq, err)
		}
		c, err := e.l.ConsistencyProof(ctx, seq, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.VerifyConsistency(seq, head.Size, c.Hashes, c.FromRoot, head.Root); err != nil {
			t.Fatalf("consistency %d→%d: %v", seq, head.Size, err)
		}
	}
	skey, vkey, err := tlog.GenerateKey("fairway.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := tlog.GenerateKey("fairway.test/audit")
	sign := func(size int64, root []byte) string {
		c, err := tlog.Sign(skey, &fairway.TreeHead{Size: size, Root: root})
		if err != nil {
			t.Fatal(err)
		}
		return c.Note
	}
	good := sign(head.Size, head.Root)
	tests := []struct {
		name string
		in   fairway.CheckpointInput
		code string
		msg  string
	}{
		{"another key", fairway.CheckpointInput{Note: good, VerifierKey: otherKey}, fairway.EINVALID, "note: checkpoint signature: note has no verifiable signatures"},
		{"a root this log never had", fairway.CheckpointInput{Note: sign(2, bytes.Repeat([]byte{7}, 32)), VerifierKey: vkey}, fairway.EINVALID,
			"note: the checkpoint's root for 2 events is not this log's root at that size; it signs another log or a rewritten one"},
		{"more events than the log", fairway.CheckpointInput{Note: sign(head.Size+1, head.Root), VerifierKey: vkey}, fairway.EINVALID,
			fmt.Sprintf("note: the checkpoint signs %d events but the log holds %d; sign the current tree (`fairway audit checkpoint`)", head.Size+1, head.Size)},
		{"no key", fairway.CheckpointInput{Note: good}, fairway.EINVALID, "verifier_key: is required: the public key that verifies the note"},
	}
	for _, tt := range tests {
		_, err := e.l.PublishCheckpoint(e.codex, &tt.in)
		wantMessage(t, err, tt.code, tt.msg)
	}
	c, err := e.l.PublishCheckpoint(e.codex, &fairway.CheckpointInput{Note: good, VerifierKey: vkey})
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != head.Size || c.CreatedBy != "codex" || c.Origin != "fairway.test/audit" {
		t.Fatalf("checkpoint = %+v", c)
	}
	_, err = e.l.PublishCheckpoint(e.codex, &fairway.CheckpointInput{Note: good, VerifierKey: vkey})
	wantCode(t, err, fairway.ECONFLICT)
	// Storing a checkpoint is not an event: the tree it signs is current.
	if after, _ := e.l.AuditTree(ctx); after.Size != head.Size {
		t.Fatalf("tree grew to %d by storing a checkpoint", after.Size)
	}
	list, err := e.l.Checkpoints(ctx, fairway.CheckpointFilter{})
	if err != nil || len(list) != 1 || list[0].Note != good {
		t.Fatalf("checkpoints = %v, %v", list, err)
	}
}

// Events appended without their leaves behind a tree that began with the
// log (as a forger who cut the tree back leaves it) are never hashed into
// the tree by the next write: it is refused and audit verify names the
// first event past the tree. A log from before the tree (empty tree,
// nothing since migration 0019 recorded where it began) is caught up:
// the stores' migration tests cover that.
func testLedgerRefusesATreeBehindItsLog(t *testing.T, e *env) {
	e.task(t, "OLD-1")
	var s fairway.Store = e.l.Store()
	at := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		update(t, s, func(tx fairway.Tx) error {
			head, err := tx.AuditHead()
			if err != nil {
				return err
			}
			ev := &fairway.AuditEvent{At: at, Actor: "alice", ActorKind: "human", Action: "legacy", Subject: "OLD-1", Change: []byte(`{}`)}
			ev.Seal(head)
			return tx.AppendAudit(ev, nil)
		})
	}
	before, _ := e.l.AuditTree(ctx)
	_, err := e.l.CreateTask(e.alice, fairway.TaskCreate{Key: "OLD-2", Title: "after the cut"})
	wantCode(t, err, fairway.EINTERNAL)
	if !strings.Contains(err.Error(), "the head was edited") {
		t.Fatalf("write over a tree behind its log: %v", err)
	}
	after, _ := e.l.AuditTree(ctx)
	res, err := e.l.VerifyAudit(ctx)
	if err != nil || res.OK || res.FirstBadSeq != before.Size+1 || after.Size != before.Size {
		t.Fatalf("verify = %+v, %v; tree %d (was %d): want the tree unchanged and event %d named", res, err, after.Size, before.Size, before.Size+1)
	}
}
