package ledger

import (
	"context"
	"slices"
	"sort"
	"strings"

	"fairway"
	"fairway/policy"
)

// Plan shows each waiting lane with the tasks behind its wait, and the
// safe fallback work ready meanwhile, ranked by how many unfinished tasks
// it unblocks downstream. What is safe is the policy's fallback rule
// (labelled, not mutating, no protected change class): a waiting lane
// never makes a protected mutation safe (R5).
func (l *Ledger) Plan(ctx context.Context, f fairway.PlanFilter) (*fairway.Plan, error) {
	if f.Limit < 0 || f.Limit > 10000 {
		return nil, fairway.FieldError("limit", "must be between 1 and 10000")
	}
	if f.Lane != "" {
		if err := fairway.ValidateLaneName("lane", f.Lane); err != nil {
			return nil, err
		}
	}
	limit := f.Limit
	if limit == 0 {
		limit = fairway.DefaultNextLimit
	}
	out := &fairway.Plan{Waiting: []*fairway.LaneWait{}, Safe: []*fairway.SafeWork{}}
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		out.Waiting, out.Safe = out.Waiting[:0], out.Safe[:0]
		p, rec, err := l.activePolicy(tx)
		if err != nil {
			return err
		}
		if p == nil {
			return fairway.Errorf(fairway.ECONFLICT, "no governance policy is in force, so nothing says which work is safe; bootstrap one with `fairway policy apply FILE`")
		}
		out.PolicyDigest = rec.Digest
		lanes, err := tx.Lanes()
		if err != nil {
			return err
		}
		found := f.Lane == ""
		for _, lane := range lanes {
			if f.Lane != "" && lane.Name != f.Lane {
				continue
			}
			found = true
			s, err := laneState(tx, lane)
			if err != nil {
				return err
			}
			if s.State != fairway.LaneWaiting {
				continue
			}
			w, err := laneWait(tx, s)
			if err != nil {
				return err
			}
			out.Waiting = append(out.Waiting, w)
		}
		if !found {
			return fairway.Errorf(fairway.ENOTFOUND, "lane %q not found", f.Lane)
		}
		// Safe work is a share of ready work; read a wide page and keep it.
		ready, err := tx.ReadyTasks(fairway.NextFilter{Limit: max(limit*20, 1000)})
		if err != nil {
			return err
		}
		for _, t := range ready {
			if !p.IsSafeFallback(t) {
				continue
			}
			n, err := unblocks(tx, t.Key)
			if err != nil {
				return err
			}
			out.Safe = append(out.Safe, &fairway.SafeWork{Task: t, Why: safeWhy(p, t), Unblocks: n})
		}
		// Ready order (priority, risk, age) breaks ties.
		sort.SliceStable(out.Safe, func(i, j int) bool { return out.Safe[i].Unblocks > out.Safe[j].Unblocks })
		if len(out.Safe) > limit {
			out.Safe = out.Safe[:limit]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// laneWait lists what a waiting lane's tasks wait on.
func laneWait(tx fairway.Tx, s *fairway.LaneState) (*fairway.LaneWait, error) {
	w := &fairway.LaneWait{Lane: s.Name, WaitingOn: s.WaitingOn, Held: []*fairway.HeldTask{}}
	tasks, err := tx.Tasks(fairway.TaskFilter{Lane: s.Name})
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		h := &fairway.HeldTask{Key: t.Key, Title: t.Title, Status: t.Status}
		switch t.Status {
		case fairway.StatusBlocked:
			h.WaitsOn = t.WaitReason
		case fairway.StatusInReview:
			h.WaitsOn = fairway.WaitReviewer
		case fairway.StatusOpen:
			h.WaitsOn = fairway.WaitDependency
		default:
			continue
		}
		blockers, err := unfinishedBlockers(tx, t.Key)
		if err != nil {
			return nil, err
		}
		if t.Status == fairway.StatusOpen && len(blockers) == 0 {
			continue // ready; a waiting lane has none, but be exact
		}
		h.Blockers = blockers
		w.Held = append(w.Held, h)
	}
	return w, nil
}

func unfinishedBlockers(tx fairway.Tx, key string) ([]string, error) {
	keys, err := tx.Blockers(key)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		b, err := tx.Task(k)
		if err != nil {
			return nil, err
		}
		if b.Status != fairway.StatusDone && b.Status != fairway.StatusCancelled {
			out = append(out, k)
		}
	}
	return out, nil
}

// unblocks counts the unfinished tasks downstream of key, each once.
func unblocks(tx fairway.Tx, key string) (int, error) {
	seen := map[string]bool{key: true}
	queue := []string{key}
	n := 0
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		next, err := tx.Blocking(k)
		if err != nil {
			return 0, err
		}
		for _, d := range next {
			if seen[d] {
				continue
			}
			seen[d] = true
			t, err := tx.Task(d)
			if err != nil {
				return 0, err
			}
			if !fairway.IsTerminal(t.Status) {
				n++
			}
			queue = append(queue, d)
		}
	}
	return n, nil
}

// safeWhy says why the policy counts a task as safe.
func safeWhy(p *policy.Policy, t *fairway.Task) string {
	var labels []string
	for _, l := range t.Labels {
		if slices.Contains(p.Fallback.SafeLabels, l) {
			labels = append(labels, l)
		}
	}
	return "labelled " + strings.Join(labels, ", ") + " (the policy's fallback work); not mutating; touches no protected change class"
}
