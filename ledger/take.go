package ledger

import (
	"context"
	"fmt"
	"strings"

	"fairway"
)

// TakeTask starts work on an open task as the caller: it becomes the
// owner when the task has none, and the task moves to in_progress, in one
// transaction, so of two agents taking the same task exactly one wins.
// A task owned by someone else is refused (audited); its owner or a human
// reassigns it. Taking a task the caller already has in progress changes
// nothing. A mutating task of a protected class needs its controls first,
// as any start does (R5).
func (l *Ledger) TakeTask(ctx context.Context, key string) (*fairway.Task, error) {
	if err := fairway.ValidateKey("task", key); err != nil {
		return nil, err
	}
	// Protected controls' evidence is read outside the transaction, as a
	// plain start does.
	blobs, err := l.checkBlobs(ctx, key, true, hashBlobs)
	if err != nil {
		return nil, err
	}
	var task *fairway.Task
	err = l.write(ctx, "task.take", key, func(w *write) error {
		if err := w.onTask(key); err != nil {
			return err
		}
		var err error
		if task, err = w.tx.Task(key); err != nil {
			return err
		}
		if task.Owner != "" && task.Owner != w.by.Name {
			return w.refuse(&fairway.Error{Code: fairway.ECONFLICT, Message: fmt.Sprintf(
				"%s is owned by %s; take other work (`fairway next --mine`, `fairway next --safe`) or ask %s or a human to reassign it", key, task.Owner, task.Owner)})
		}
		if task.Status == fairway.StatusInProgress && task.Owner == w.by.Name {
			return nil // already yours and started
		}
		if task.Status != fairway.StatusOpen {
			return w.refuse(&fairway.Error{Code: fairway.ECONFLICT, Message: fmt.Sprintf(
				"%s is %s; only an open task can be taken (see `fairway task show %s`)", key, task.Status, key)})
		}
		if task.Mutating {
			missing, err := l.protectedControlsMissing(w.tx, task, blobs)
			if err != nil {
				return err
			}
			if len(missing) > 0 {
				return w.refuse(&fairway.Error{Code: fairway.EGATEFAILED, Message: fmt.Sprintf(
					"%s is a mutating change of a protected class; before it starts it needs: %s (see `fairway gate explain %s`)",
					key, strings.Join(missing, "; "), key)})
			}
		}
		change := map[string]any{"from": task.Status, "to": fairway.StatusInProgress}
		if task.Owner == "" {
			// Taking assigns the work to oneself: the requester is the taker.
			task.Owner, task.AssignedBy = w.by.Name, w.by.Name
			change["owner"] = w.by.Name
		}
		task.Status, task.WaitReason, task.UpdatedAt = fairway.StatusInProgress, "", w.now
		if err := w.tx.UpdateTask(task); err != nil {
			return err
		}
		change["task"] = task // the row it leaves, checkable against the log (R8)
		return w.record(change)
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}
