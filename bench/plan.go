package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"fairway"
	"fairway/demo"
	"fairway/ledger"
)

// WaitingLane is the lane of a LaneGraph whose every task is blocked:
// `fairway next --lane WaitingLane` falls back to planning safe work.
const WaitingLane = "lane-000"

// LaneGraph fills a ledger's store with tasks tasks spread over lanes
// lanes and edges dependency edges (no cycle), under the demo policy:
// WaitingLane's tasks all wait on capacity; elsewhere a third are done, a
// sixth in progress, some in review, and among the open ones some are
// mutating changes of the seed's protected classes, some docs work and
// some monitor tasks, so that the planner has every kind to sort out.
func LaneGraph(ctx context.Context, l *ledger.Ledger, as context.Context, tasks, lanes, edges int, seed uint64) error {
	if _, err := l.BootstrapPolicy(as, "governance.yaml", demo.Policy); err != nil {
		return err
	}
	s := l.Store()
	rng := rand.New(rand.NewPCG(seed, seed))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	classes := []string{"identity-provider", "runner", "edge-dns", "firewall", "route", "runtime-environment", "secret", "destructive-cleanup", "production-deploy"}
	err := s.Update(ctx, func(tx fairway.Tx) error {
		for i := range lanes {
			if err := tx.InsertLane(&fairway.Lane{Name: fmt.Sprintf("lane-%03d", i), CreatedAt: at, CreatedBy: "alice"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	const chunk = 20000
	for lo := 0; lo < tasks; lo += chunk {
		err := s.Update(ctx, func(tx fairway.Tx) error {
			for i := lo; i < min(lo+chunk, tasks); i++ {
				lane := fmt.Sprintf("lane-%03d", i%lanes)
				t := &fairway.Task{Key: fmt.Sprintf("L-%06d", i), Title: "lane graph task", Creator: "alice", Status: fairway.StatusOpen, Lane: lane,
					Risk: fairway.Risks[rng.IntN(4)], Priority: rng.IntN(5), CreatedAt: at.Add(time.Duration(i) * time.Second), UpdatedAt: at}
				switch r := rng.IntN(12); {
				case lane == WaitingLane:
					t.Status, t.WaitReason = fairway.StatusBlocked, fairway.WaitCapacity
				case r < 4:
					t.Status = fairway.StatusDone
				case r < 6:
					t.Status = fairway.StatusInProgress
				case r == 6:
					t.Status = fairway.StatusInReview
				case r == 7:
					t.Mutating, t.Scope.ChangeClasses = true, []string{classes[rng.IntN(len(classes))]}
				case r == 8:
					t.Labels = []string{"docs"}
				case r == 9:
					t.Labels = []string{"monitor", "repo/acme/gpuaas"}
				}
				if err := tx.InsertTask(t); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return randomEdges(ctx, s, rng, "L", tasks, edges, chunk)
}
