package ledger

import (
	"context"
	"slices"

	"fairway"
)

// CreateLane creates a lane.
func (l *Ledger) CreateLane(ctx context.Context, c fairway.LaneCreate) (*fairway.Lane, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(c); err != nil {
		return nil, err
	}
	var lane *fairway.Lane
	err := l.write(ctx, "lane.create", c.Name, func(w *write) error {
		lane = &fairway.Lane{Name: c.Name, KeyPrefix: c.KeyPrefix, Description: c.Description, CreatedAt: w.now, CreatedBy: w.by.Name}
		if err := w.tx.InsertLane(lane); err != nil {
			return err
		}
		return w.record(lane)
	})
	if err != nil {
		return nil, err
	}
	return lane, nil
}

// GetLane returns a lane with its derived state.
func (l *Ledger) GetLane(ctx context.Context, name string) (*fairway.LaneState, error) {
	var out *fairway.LaneState
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		lane, err := tx.Lane(name)
		if err != nil {
			return err
		}
		out, err = laneState(tx, lane)
		return err
	})
	return out, err
}

// ListLanes lists every lane with its derived state.
func (l *Ledger) ListLanes(ctx context.Context) ([]*fairway.LaneState, error) {
	out := []*fairway.LaneState{}
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		lanes, err := tx.Lanes()
		if err != nil {
			return err
		}
		for _, lane := range lanes {
			s, err := laneState(tx, lane)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// laneState derives whether a lane moves or waits. A lane moves while some
// task is in progress or ready to start. Otherwise it waits on the reasons
// of its blocked tasks, on reviewers for tasks in review, and on
// dependencies for open tasks whose blockers are unfinished. A lane with no
// unfinished task is idle.
func laneState(tx fairway.Tx, lane *fairway.Lane) (*fairway.LaneState, error) {
	counts, err := tx.CountTasksByStatus(lane.Name)
	if err != nil {
		return nil, err
	}
	ready, err := tx.CountReady(lane.Name)
	if err != nil {
		return nil, err
	}
	s := &fairway.LaneState{Lane: *lane, Counts: counts, Ready: ready}
	active := counts[fairway.StatusOpen] + counts[fairway.StatusInProgress] + counts[fairway.StatusBlocked] + counts[fairway.StatusInReview]
	switch {
	case active == 0:
		s.State = fairway.LaneIdle
	case counts[fairway.StatusInProgress] > 0 || ready > 0:
		s.State = fairway.LaneMoving
	default:
		s.State = fairway.LaneWaiting
		reasons, err := tx.WaitReasons(lane.Name)
		if err != nil {
			return nil, err
		}
		if counts[fairway.StatusInReview] > 0 {
			reasons = append(reasons, fairway.WaitReviewer)
		}
		if counts[fairway.StatusOpen] > ready {
			reasons = append(reasons, fairway.WaitDependency)
		}
		slices.Sort(reasons)
		s.WaitingOn = slices.Compact(reasons)
	}
	return s, nil
}
