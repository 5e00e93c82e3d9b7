package ledger

import (
	"context"
	"time"

	"fairway"
)

// TaskView reads a task with everything around it from one snapshot, so
// the gate shown judges exactly the evidence and reviews shown beside it.
func (l *Ledger) TaskView(ctx context.Context, key string) (*fairway.TaskView, error) {
	blobs, err := l.checkBlobs(ctx, key, false, statBlobs)
	if err != nil {
		return nil, err
	}
	var v *fairway.TaskView
	err = l.store.View(ctx, func(tx fairway.Tx) error {
		task, err := tx.Task(key)
		if err != nil {
			return err
		}
		v = &fairway.TaskView{Task: task}
		deps, err := dependenciesOf(tx, key)
		if err != nil {
			return err
		}
		v.BlockedBy, v.Blocks = deps.BlockedBy, deps.Blocks
		if v.Evidence, err = tx.EvidenceList(fairway.EvidenceFilter{Task: key}); err != nil {
			return err
		}
		if v.Claims, err = tx.Claims(key); err != nil {
			return err
		}
		if v.Reviews, err = tx.Reviews(key); err != nil {
			return err
		}
		if v.Waivers, err = tx.Waivers(key, task.Lane); err != nil {
			return err
		}
		if v.Narrowings, err = tx.Narrowings(key); err != nil {
			return err
		}
		if v.Sessions, err = tx.Sessions(fairway.SessionFilter{Task: key}); err != nil {
			return err
		}
		var now time.Time // read only when a lease could have run out
		for _, s := range v.Sessions {
			if s.State == fairway.SessionAttached && now.IsZero() {
				now = l.now()
			}
			asOf(s, now)
		}
		v.Gate, err = l.evaluateGate(tx, task, blobs)
		return err
	})
	if err != nil {
		return nil, err
	}
	v.Evidence = nonNil(v.Evidence)
	v.Claims = nonNil(v.Claims)
	v.Reviews = nonNil(v.Reviews)
	v.Waivers = nonNil(v.Waivers)
	v.Narrowings = nonNil(v.Narrowings)
	v.Sessions = nonNil(v.Sessions)
	return v, nil
}

// nonNil makes an absent list an empty one, so JSON shows [] not null.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
