package demo_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	"fairway/ledger"
	"fairway/sqlite"
)

func TestLoad_TheSeedScenario(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	blobs, _ := blob.NewFileStore(filepath.Join(dir, "blobs"))
	l := ledger.New(s, blobs)
	if err := demo.Load(ctx, l); err != nil {
		t.Fatal(err)
	}
	d, err := l.ExplainGate(ctx, "OPS-UAT-KIND-FULL-001")
	if err != nil {
		t.Fatal(err)
	}
	var prereq fairway.Requirement
	for _, r := range d.Requirements {
		if r.ID == "prerequisite:kind-compute-capacity" {
			prereq = r
		}
	}
	if d.Pass || prereq.State != fairway.ReqUnsatisfied || !strings.Contains(prereq.Detail, "waiver 1 requested by grace awaits approval by ops") {
		t.Fatalf("kind UAT gate = pass %v, prerequisite %+v", d.Pass, prereq)
	}
	lane, err := l.GetLane(ctx, "kind-uat")
	if err != nil || lane.State != fairway.LaneWaiting || strings.Join(lane.WaitingOn, ",") != "dependency" {
		t.Fatalf("kind-uat lane = %+v %v", lane, err)
	}
	next, _ := l.Next(ctx, fairway.NextFilter{Lane: "safe-work"})
	if len(next) != 5 {
		t.Fatalf("safe work ready = %d, want 5", len(next))
	}
	safe, err := l.Next(ctx, fairway.NextFilter{SafeOnly: true})
	if err != nil || len(safe) != 5 || safe[0].Key != "OPS-SAFE-004" {
		t.Fatalf("safe work = %v %v", len(safe), err)
	}
	for _, t2 := range safe {
		if t2.Lane != "safe-work" {
			t.Fatalf("%s counted as safe", t2.Key)
		}
	}
	v, err := l.VerifyAudit(ctx)
	if err != nil || !v.OK {
		t.Fatalf("audit = %+v %v", v, err)
	}
	// The edge change cannot start: its security reviewer asked for changes.
	edge, _ := l.ExplainGate(ctx, "OPS-EDGE-TUNNEL-001")
	for _, r := range edge.Requirements {
		if r.ID == "review:security" && (r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Detail, "open change requests")) {
			t.Fatalf("edge security review = %+v", r)
		}
	}
}

func TestLoad_EveryStatusAStaleApprovalAndAChangeRequest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	blobs, _ := blob.NewFileStore(filepath.Join(dir, "blobs"))
	l := ledger.New(s, blobs)
	if err := demo.Load(ctx, l); err != nil {
		t.Fatal(err)
	}
	tasks, _ := l.ListTasks(ctx, fairway.TaskFilter{})
	seen := map[string]int{}
	for _, tk := range tasks {
		seen[tk.Status]++
	}
	for _, st := range fairway.Statuses {
		if seen[st] == 0 {
			t.Errorf("no task is %s", st)
		}
	}
	g, _ := l.ExplainGate(ctx, "OPS-UAT-KIND-FULL-001")
	reviews, _ := l.ListReviews(ctx, "OPS-UAT-KIND-FULL-001")
	if len(reviews) != 1 || reviews[0].Verdict != fairway.VerdictApproved || reviews[0].Snapshot == g.SnapshotDigest {
		t.Fatalf("want one approval of an older snapshot on OPS-UAT-KIND-FULL-001, got %+v", reviews)
	}
	for _, r := range g.Requirements {
		if r.ID == "review:ops" && (r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Detail, "stale")) {
			t.Fatalf("review:ops = %+v, want unsatisfied and stale", r)
		}
	}
}
