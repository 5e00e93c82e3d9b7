package ledger

import (
	"context"
	"fmt"
	"strings"

	"fairway"
	"fairway/tlog"
)

// catchUpTree adds to the Merkle tree the events appended before it
// existed (a log that predates migration 0008), so the next event is leaf
// Seq-1. It runs once per such log, inside the write that finds it: the
// tree is then empty and the log has not grown since the migration
// (TreeFrom). Any other tree behind its log was cut back behind the
// ledger; catching it up would hash whatever events stand there now and
// make a forged log verify, so the write is refused.
func catchUpTree(tx fairway.Tx, head fairway.AuditHead) (fairway.AuditHead, error) {
	if head.TreeSize > head.Seq {
		return head, fairway.Errorf(fairway.EINTERNAL, "the audit tree holds %d events but the log %d; run `fairway audit verify`", head.TreeSize, head.Seq)
	}
	if head.TreeSize != 0 || len(head.Range) != 0 || head.Seq > head.TreeFrom {
		return head, fairway.Errorf(fairway.EINTERNAL, "the audit tree covers %d events but the log holds %d, and its tree began with event %d: the head was edited; run `fairway audit verify`", head.TreeSize, head.Seq, head.TreeFrom+1)
	}
	var pending []*fairway.MerkleAppend
	var events []*fairway.AuditEvent
	for head.TreeSize < head.Seq {
		page, err := tx.AuditEvents(fairway.AuditFilter{AfterSeq: head.TreeSize, Limit: 1000})
		if err != nil {
			return head, err
		}
		if len(page) == 0 || page[0].Seq != head.TreeSize+1 {
			return head, fairway.Errorf(fairway.EINTERNAL, "audit event %d is missing; run `fairway audit verify`", head.TreeSize+1)
		}
		for _, e := range page {
			if e.Seq != head.TreeSize+1 {
				return head, fairway.Errorf(fairway.EINTERNAL, "audit event %d is missing; run `fairway audit verify`", head.TreeSize+1)
			}
			tree, err := tlog.Append(head.TreeSize, head.Range, tlog.LeafHash(e))
			if err != nil {
				return head, err
			}
			head.TreeSize, head.Range = e.Seq, tree.Range
			pending, events = append(pending, tree), append(events, e)
		}
	}
	// The events exist already: only their tree is written.
	for i, tree := range pending {
		if err := tx.AppendTree(events[i].Seq, tree); err != nil {
			return head, err
		}
	}
	return head, nil
}

// AuditTree returns the size and root of the audit log's Merkle tree.
func (l *Ledger) AuditTree(ctx context.Context) (*fairway.TreeHead, error) {
	var out *fairway.TreeHead
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		root, err := tlog.Root(head.TreeSize, head.Range)
		if err != nil {
			return err
		}
		out = &fairway.TreeHead{Size: head.TreeSize, Root: root}
		return nil
	})
	return out, err
}

// PublishCheckpoint stores a checkpoint signed outside the ledger, once
// its signature verifies with the key given and its root is the tree's
// root at its size. It is not an audit event: a checkpoint is a signed
// statement about the log, checked against the log, and an event for it
// would make every checkpoint out of date the moment it is stored.
func (l *Ledger) PublishCheckpoint(ctx context.Context, in *fairway.CheckpointInput) (*fairway.Checkpoint, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c, err := tlog.Open([]byte(in.Note), in.VerifierKey)
	if err != nil {
		return nil, fairway.FieldError("note", "%s", err)
	}
	// Storing a checkpoint writes no audit event (one would outdate it at
	// once), so it does not go through the write helper; a session
	// credential, which that helper would fence, is refused here, and the
	// refusal audited through the helper.
	if s := fairway.AuthFromContext(ctx).Session; s != "" {
		return nil, l.write(ctx, "checkpoint.publish", "checkpoints", func(w *write) error {
			w.taskScoped = true
			return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf(
				"a session credential (session %s) cannot publish checkpoints; publish with your own token or the server's signing key", s)})
		})
	}
	err = l.store.Update(ctx, func(tx fairway.Tx) error {
		by, err := l.actor(ctx, tx)
		if err != nil {
			return err
		}
		if err := checkAgainstTree(tx, c); err != nil {
			return err
		}
		c.ID, c.CreatedAt, c.CreatedBy = 0, l.now(), by.Name
		return tx.InsertCheckpoint(c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// SignCheckpoint signs the current tree head with skey and stores it,
// as by, the server's own name for its interval signing. The key is used
// and dropped: the ledger keeps the checkpoint only.
func (l *Ledger) SignCheckpoint(ctx context.Context, skey, by string) (*fairway.Checkpoint, error) {
	var c *fairway.Checkpoint
	err := l.store.Update(ctx, func(tx fairway.Tx) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		// A tree that does not extend the newest checkpoint stored is a
		// log cut back or rewritten under it: signing it would put the
		// key's name to two histories.
		newest, err := tx.Checkpoints(1)
		if err != nil {
			return err
		}
		if len(newest) > 0 {
			if err := extendsCheckpoint(tx, newest[0]); err != nil {
				return err
			}
		}
		root, err := tlog.Root(head.TreeSize, head.Range)
		if err != nil {
			return err
		}
		c, err = tlog.Sign(skey, &fairway.TreeHead{Size: head.TreeSize, Root: root})
		if err != nil {
			return fairway.FieldError("key", "%s", err)
		}
		c.CreatedAt, c.CreatedBy = l.now(), by
		return tx.InsertCheckpoint(c)
	})
	return c, err
}

// ExtendsCheckpoint says, as an ECONFLICT error, when the log no longer
// extends checkpoint c: a signer that remembers the last checkpoint it
// signed asks before signing another, so a store swapped for an older
// copy, or cut back, under a running server is not signed as well.
func (l *Ledger) ExtendsCheckpoint(ctx context.Context, c *fairway.Checkpoint) error {
	return l.store.View(ctx, func(tx fairway.Tx) error { return extendsCheckpoint(tx, c) })
}

func extendsCheckpoint(tx fairway.Tx, c *fairway.Checkpoint) error {
	err := checkAgainstTree(tx, c)
	if e, ok := err.(*fairway.Error); ok && e.Code == fairway.EINVALID {
		return fairway.Errorf(fairway.ECONFLICT, "the audit log no longer extends checkpoint %s/%d signed before (%s): it was cut back, swapped for an older copy or rewritten, so no checkpoint is signed. Find where with `fairway audit verify --checkpoint FILE --key PUB` and a checkpoint published before, and restore the store from a copy that verifies",
			c.Origin, c.Size, strings.TrimPrefix(e.Message, "note: "))
	}
	return err
}

// checkAgainstTree refuses a checkpoint the log does not match.
func checkAgainstTree(tx fairway.Tx, c *fairway.Checkpoint) error {
	head, err := tx.AuditHead()
	if err != nil {
		return err
	}
	if c.Size > head.TreeSize {
		return fairway.Errorf(fairway.EINVALID, "note: the checkpoint signs %d events but the log holds %d; sign the current tree (`fairway audit checkpoint`)", c.Size, head.TreeSize)
	}
	root, err := tlog.RootAt(c.Size, treeNodes(tx))
	if err != nil {
		return err
	}
	if !tlog.SameRoot(root, c.Root) {
		return fairway.Errorf(fairway.EINVALID, "note: the checkpoint's root for %d events is not this log's root at that size; it signs another log or a rewritten one", c.Size)
	}
	return nil
}

// Checkpoints lists stored checkpoints, newest first.
func (l *Ledger) Checkpoints(ctx context.Context, f fairway.CheckpointFilter) ([]*fairway.Checkpoint, error) {
	if f.Limit < 0 || f.Limit > 10000 {
		return nil, fairway.FieldError("limit", "must be between 1 and 10000, or 0 for all")
	}
	var out []*fairway.Checkpoint
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		out, err = tx.Checkpoints(f.Limit)
		return err
	})
	return out, err
}

// InclusionProof proves event seq is leaf seq-1 of the tree of size
// events; size 0 means the current tree.
func (l *Ledger) InclusionProof(ctx context.Context, seq, size int64) (*fairway.InclusionProof, error) {
	var out *fairway.InclusionProof
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if size == 0 {
			size = head.TreeSize
		}
		if size < 0 || size > head.TreeSize {
			return fairway.FieldError("size", "must be between 1 and the tree size %d", head.TreeSize)
		}
		if seq < 1 || seq > size {
			return fairway.FieldError("seq", "must be between 1 and %d (the tree size proved against)", size)
		}
		events, err := tx.AuditEvents(fairway.AuditFilter{AfterSeq: seq - 1, Limit: 1})
		if err != nil {
			return err
		}
		if len(events) == 0 || events[0].Seq != seq {
			return fairway.Errorf(fairway.ENOTFOUND, "audit event %d is missing; run `fairway audit verify`", seq)
		}
		path, err := tlog.Inclusion(seq-1, size, treeNodes(tx))
		if err != nil {
			return err
		}
		root, err := tlog.RootAt(size, treeNodes(tx))
		if err != nil {
			return err
		}
		e := events[0]
		out = &fairway.InclusionProof{Seq: seq, Size: size, Root: root, Event: e, LeafHash: tlog.LeafHash(e), Hashes: path}
		return nil
	})
	return out, err
}

// ConsistencyProof proves the tree of size to extends that of size from;
// to 0 means the current tree.
func (l *Ledger) ConsistencyProof(ctx context.Context, from, to int64) (*fairway.ConsistencyProof, error) {
	var out *fairway.ConsistencyProof
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if to == 0 {
			to = head.TreeSize
		}
		if to < 1 || to > head.TreeSize {
			return fairway.FieldError("to", "must be between 1 and the tree size %d", head.TreeSize)
		}
		if from < 1 || from > to {
			return fairway.FieldError("from", "must be between 1 and %d (the size proved to)", to)
		}
		path, err := tlog.Consistency(from, to, treeNodes(tx))
		if err != nil {
			return err
		}
		r1, err := tlog.RootAt(from, treeNodes(tx))
		if err != nil {
			return err
		}
		r2, err := tlog.RootAt(to, treeNodes(tx))
		if err != nil {
			return err
		}
		out = &fairway.ConsistencyProof{From: from, To: to, FromRoot: r1, ToRoot: r2, Hashes: path}
		return nil
	})
	return out, err
}

// treeNodes reads the audit tree's nodes in tx: the stored ones from the
// store, the lower ones hashed up from their events.
func treeNodes(tx fairway.Tx) tlog.Fetch {
	return tlog.Nodes(tx.MerkleHashes, func(from, to int64) ([][]byte, error) {
		events, err := tx.AuditEvents(fairway.AuditFilter{AfterSeq: from, Limit: int(to - from)})
		if err != nil {
			return nil, err
		}
		out := make([][]byte, 0, len(events))
		for i, e := range events {
			if e.Seq != from+int64(i)+1 {
				break
			}
			out = append(out, tlog.LeafHash(e))
		}
		if int64(len(out)) != to-from {
			return nil, fairway.Errorf(fairway.ENOTFOUND, "audit event %d is missing; run `fairway audit verify`", from+int64(len(out))+1)
		}
		return out, nil
	})
}

// verifyTree checks the stored Merkle tree against the events: every
// stored node is the hash of the events under it and the head's root is
// the root of them all. It names the first event under the first node
// that differs. A log rewritten together with its tree passes here; only
// a checkpoint signed before the rewrite catches that (`fairway audit
// verify --checkpoint`).
func verifyTree(tx fairway.Tx, head fairway.AuditHead, res *fairway.AuditVerification) (*fairway.AuditVerification, error) {
	bad := func(seq int64, problem string) (*fairway.AuditVerification, error) {
		res.OK, res.FirstBadSeq, res.Problem = false, seq, problem
		return res, nil
	}
	if head.TreeSize != head.Seq {
		// Only a log from before the tree (migration 0008), not caught up
		// yet and grown by nothing since (TreeFrom), has a head behind it,
		// and then no tree at all; any other head was edited, perhaps to
		// skip this check.
		if head.TreeSize != 0 || len(head.Range) != 0 {
			return bad(min(head.TreeSize, head.Seq)+1, fmt.Sprintf("the audit tree's head covers %d events but the log holds %d: the head was edited", head.TreeSize, head.Seq))
		}
		_, err := tx.MerkleHashes([]fairway.MerkleNodeID{{Level: tlog.StoredLevel, Index: 0}})
		if err == nil {
			return bad(1, fmt.Sprintf("the audit tree's head covers 0 events but the log holds %d and the tree has nodes over them: the head was edited", head.Seq))
		} else if fairway.ErrorCode(err) != fairway.ENOTFOUND {
			return nil, err
		}
		// Without a stored node (under 64 events, or all deleted) only
		// the head says whether the log predates its tree.
		if head.Seq > head.TreeFrom {
			return bad(head.TreeFrom+1, fmt.Sprintf("the audit tree's head covers 0 events but the log holds %d, and its tree began with event %d: the head was edited (emptied to skip the tree's check)", head.Seq, head.TreeFrom+1))
		}
		return res, nil
	}
	var nodes []fairway.MerkleNode
	v := tlog.NewLogVerifier(nil)
	v.OnStoredNode = func(n fairway.MerkleNode) { nodes = append(nodes, n) }
	for after := int64(0); after < head.Seq; {
		page, err := tx.AuditEvents(fairway.AuditFilter{AfterSeq: after, Limit: 1024})
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break
		}
		nodes = nodes[:0]
		for _, e := range page {
			v.Add(e)
		}
		if seq, problem, err := checkStoredNodes(tx, nodes); err != nil || problem != "" {
			if err != nil {
				return nil, err
			}
			return bad(seq, problem)
		}
		after = page[len(page)-1].Seq
	}
	got := v.Finish()
	want, err := tlog.Root(head.TreeSize, head.Range)
	if err != nil {
		return nil, err
	}
	if !tlog.SameRoot(got.Root, want) {
		first := head.Seq&^(1<<tlog.StoredLevel-1) + 1
		return bad(first, fmt.Sprintf("the audit tree's root for %d events is not the root of the events: one of events %d to %d, or the tree's head, was edited", head.Seq, first, head.Seq))
	}
	return res, nil
}

// checkStoredNodes compares nodes, as the events finished them, with the
// stored ones, and names the first event under the first one missing or
// different.
func checkStoredNodes(tx fairway.Tx, nodes []fairway.MerkleNode) (int64, string, error) {
	if len(nodes) == 0 {
		return 0, "", nil
	}
	ids := make([]fairway.MerkleNodeID, len(nodes))
	for i, n := range nodes {
		ids[i] = n.MerkleNodeID
	}
	stored, err := tx.MerkleHashes(ids)
	if fairway.ErrorCode(err) == fairway.ENOTFOUND {
		// Which one: asked one by one, in order.
		for _, id := range ids {
			if _, err := tx.MerkleHashes([]fairway.MerkleNodeID{id}); fairway.ErrorCode(err) == fairway.ENOTFOUND {
				first, last := coveredEvents(id)
				return first, fmt.Sprintf("the audit tree lacks its node over events %d to %d (deleted)", first, last), nil
			}
		}
	}
	if err != nil {
		return 0, "", err
	}
	for i, n := range nodes {
		if !tlog.SameRoot(stored[i], n.Hash) {
			first, last := coveredEvents(n.MerkleNodeID)
			return first, fmt.Sprintf("events %d to %d do not hash to the audit tree's node over them: one of them, or the node, was edited", first, last), nil
		}
	}
	return 0, "", nil
}

// coveredEvents returns the first and last event under a tree node.
func coveredEvents(id fairway.MerkleNodeID) (first, last int64) {
	return id.Index<<id.Level + 1, (id.Index + 1) << id.Level
}
