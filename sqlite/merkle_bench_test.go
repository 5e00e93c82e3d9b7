package sqlite_test

import (
	"context"
	"testing"
	"time"

	"fairway"
	"fairway/sqlite"
	"fairway/tlog"
)

// appendOne is one durable write that appends one audit event, with its
// Merkle tree nodes when tree is true.
func appendOne(b *testing.B, s *sqlite.Store, i int, tree bool) {
	err := s.Update(context.Background(), func(tx fairway.Tx) error {
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		e := &fairway.AuditEvent{At: time.Unix(int64(i), 0).UTC(), Actor: "alice", ActorKind: "human",
			Action: "task.update", Subject: "OPS-FIX-001", Change: []byte(`{"status":"in_progress","title":"Restore compute capacity"}`)}
		e.Seal(head)
		var app *fairway.MerkleAppend
		if tree {
			if app, err = tlog.Append(head.TreeSize, head.Range, tlog.LeafHash(e)); err != nil {
				return err
			}
		}
		return tx.AppendAudit(e, app)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAppendAudit_TreeOverhead times durable audit appends (each its
// own fsynced commit) with and without the Merkle tree, interleaved in the
// same run on two stores in the same folder, and reports the ratio.
func BenchmarkAppendAudit_TreeOverhead(b *testing.B) {
	plain := MustOpenStore(b, sqlite.Options{MaxBatch: 1})
	withTree := MustOpenStore(b, sqlite.Options{MaxBatch: 1})
	var tPlain, tTree time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		appendOne(b, plain, i, false)
		mid := time.Now()
		appendOne(b, withTree, i, true)
		tTree += time.Since(mid)
		tPlain += mid.Sub(start)
	}
	b.ReportMetric(float64(tPlain.Nanoseconds())/float64(b.N), "ns/append-plain")
	b.ReportMetric(float64(tTree.Nanoseconds())/float64(b.N), "ns/append-tree")
	b.ReportMetric(float64(tTree)/float64(tPlain), "tree/plain")
}
