package ledger

import (
	"context"
	"slices"
	"strings"

	"fairway"
	"fairway/policy"
)

// AddDependency records that blocker must be done before blocked. An edge
// that would close a cycle is refused, naming the cycle.
func (l *Ledger) AddDependency(ctx context.Context, blocked, blocker string) error {
	if err := fairway.ValidateKey("blocked", blocked); err != nil {
		return err
	}
	if err := fairway.ValidateKey("blocker", blocker); err != nil {
		return err
	}
	if blocked == blocker {
		return fairway.FieldError("blocker", "a task cannot depend on itself")
	}
	return l.write(ctx, "dependency.add", blocked, func(w *write) error {
		if err := w.onTask(blocked); err != nil {
			return err
		}
		tx := w.tx
		t, err := tx.Task(blocked)
		if err != nil {
			return err
		}
		if _, err := tx.Task(blocker); err != nil {
			return err
		}
		if fairway.IsTerminal(t.Status) {
			return fairway.Errorf(fairway.ECONFLICT, "task %s is %s; a finished task takes no new dependencies", blocked, t.Status)
		}
		// One query answers whether the edge closes a cycle; only then is
		// the cycle walked, to name it.
		closes, err := tx.DependsOn(blocker, blocked)
		if err != nil {
			return err
		}
		if closes {
			cycle, err := findPath(tx, blocker, blocked)
			if err != nil {
				return err
			}
			// cycle runs blocker ← … ← blocked through "depends on"; read
			// the other way it is the chain of "blocks".
			slices.Reverse(cycle)
			return fairway.Errorf(fairway.ECONFLICT, "%s cannot depend on %s: that closes the cycle %s blocks %s",
				blocked, blocker, strings.Join(cycle, " blocks "), blocked)
		}
		if err := tx.InsertDependency(blocked, blocker); err != nil {
			return err
		}
		return w.record(map[string]string{"blocked": blocked, "blocker": blocker})
	})
}

// findPath looks for a chain from → … → to following "depends on" edges,
// breadth first, and returns it, or nil when there is none.
func findPath(tx fairway.Tx, from, to string) ([]string, error) {
	parent := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []string
			for k := cur; k != ""; k = parent[k] {
				path = append(path, k)
			}
			slices.Reverse(path)
			return path, nil
		}
		next, err := tx.Blockers(cur)
		if err != nil {
			return nil, err
		}
		for _, n := range next {
			if _, seen := parent[n]; !seen {
				parent[n] = cur
				queue = append(queue, n)
			}
		}
	}
	return nil, nil
}

// RemoveDependency deletes a dependency edge. A dependency on an
// unfinished task is a requirement of the gate: removing it is a
// narrowing (UpdateTask with RemoveBlockers), refused here naming what it
// removes unless the blocker is done.
func (l *Ledger) RemoveDependency(ctx context.Context, blocked, blocker string) error {
	if err := fairway.ValidateKey("blocked", blocked); err != nil {
		return err
	}
	if err := fairway.ValidateKey("blocker", blocker); err != nil {
		return err
	}
	return l.write(ctx, "dependency.remove", blocked, func(w *write) error {
		if err := w.onTask(blocked); err != nil {
			return err
		}
		// Removing a dependency lifts a requirement of the gate.
		if err := w.requireHuman("remove a dependency", "It lifts a requirement of the gate"); err != nil {
			return err
		}
		removed, err := l.removedDependencies(w.tx, blocked, fairway.TaskUpdate{RemoveBlockers: []string{blocker}})
		if err != nil {
			return err
		}
		if len(removed) > 0 {
			e := &fairway.Error{Code: fairway.EFORBIDDEN, Message: narrowingRefusal(blocked, removed)}
			return w.refuseWith(e, map[string]any{"code": e.Code, "reason": e.Message, "removes": removed})
		}
		if err := w.tx.DeleteDependency(blocked, blocker); err != nil {
			return err
		}
		return w.record(map[string]string{"blocked": blocked, "blocker": blocker})
	})
}

// Dependencies shows what a task waits on and what waits on it.
func (l *Ledger) Dependencies(ctx context.Context, key string) (*fairway.TaskDependencies, error) {
	var out *fairway.TaskDependencies
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		if _, err := tx.Task(key); err != nil {
			return err
		}
		var err error
		out, err = dependenciesOf(tx, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// dependenciesOf reads the tasks key waits on and the tasks waiting on it.
func dependenciesOf(tx fairway.Tx, key string) (*fairway.TaskDependencies, error) {
	out := &fairway.TaskDependencies{Key: key, BlockedBy: []*fairway.Task{}, Blocks: []*fairway.Task{}}
	for _, dir := range []struct {
		list func(string) ([]string, error)
		dst  *[]*fairway.Task
	}{{tx.Blockers, &out.BlockedBy}, {tx.Blocking, &out.Blocks}} {
		keys, err := dir.list(key)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			t, err := tx.Task(k)
			if err != nil {
				return nil, err
			}
			*dir.dst = append(*dir.dst, t)
		}
	}
	return out, nil
}

// Next lists what can be worked on now: open tasks whose dependencies are
// all done, by priority, then risk (highest first), then age.
func (l *Ledger) Next(ctx context.Context, f fairway.NextFilter) ([]*fairway.Task, error) {
	if f.Limit < 0 || f.Limit > 10000 {
		return nil, fairway.FieldError("limit", "must be between 1 and 10000")
	}
	if f.Lane != "" {
		if err := fairway.ValidateLaneName("lane", f.Lane); err != nil {
			return nil, err
		}
	}
	if f.Owner != "" {
		if err := fairway.CheckLine("owner", f.Owner, 100); err != nil {
			return nil, err
		}
	}
	var out []*fairway.Task
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		if f.Lane != "" {
			if _, err := tx.Lane(f.Lane); err != nil {
				return err
			}
		}
		if !f.SafeOnly && f.Owner == "" {
			var err error
			out, err = tx.ReadyTasks(f)
			return err
		}
		var p *policy.Policy
		if f.SafeOnly {
			var err error
			if p, _, err = l.activePolicy(tx); err != nil {
				return err
			}
			if p == nil {
				return fairway.Errorf(fairway.ECONFLICT, "no governance policy is in force, so nothing says which work is safe; bootstrap one with `fairway policy apply FILE`")
			}
		}
		limit := f.Limit
		if limit <= 0 {
			limit = fairway.DefaultNextLimit
		}
		// Safe or owned work is a share of ready work; read a wide page and
		// keep it.
		ready, err := tx.ReadyTasks(fairway.NextFilter{Lane: f.Lane, Limit: max(limit*20, 1000)})
		if err != nil {
			return err
		}
		for _, t := range ready {
			if len(out) < limit && (p == nil || p.IsSafeFallback(t)) && (f.Owner == "" || t.Owner == f.Owner) {
				out = append(out, t)
			}
		}
		return nil
	})
	if out == nil && err == nil {
		out = []*fairway.Task{}
	}
	return out, err
}
