package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"fairway"
)

const taskColumns = `key, title, scope, lane, owner, creator, status, wait_reason, risk, priority,
	review_domains, mutating, labels, cancel_reason, created_at, updated_at, closed_at, assigned_by`

func scanTask(r rowScanner) (*fairway.Task, error) {
	var (
		t                          fairway.Task
		scope, domains, labels     string
		created, updated, closedAt int64
	)
	err := r.Scan(&t.Key, &t.Title, &scope, &t.Lane, &t.Owner, &t.Creator, &t.Status, &t.WaitReason,
		&t.Risk, &t.Priority, &domains, &t.Mutating, &labels, &t.CancelReason, &created, &updated, &closedAt, &t.AssignedBy)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scope), &t.Scope); err != nil {
		return nil, fmt.Errorf("task %s: scope: %w", t.Key, err)
	}
	if t.ReviewDomains, err = decodeList(domains); err != nil {
		return nil, fmt.Errorf("task %s: review domains: %w", t.Key, err)
	}
	if t.Labels, err = decodeList(labels); err != nil {
		return nil, fmt.Errorf("task %s: labels: %w", t.Key, err)
	}
	t.CreatedAt, t.UpdatedAt, t.ClosedAt = fromNanos(created), fromNanos(updated), fromNanos(closedAt)
	return &t, nil
}

// InsertTask stores a new task. Its pending blocker count starts at zero: a
// new task has no dependencies yet.
func (t *tx) InsertTask(task *fairway.Task) error {
	scope, err := json.Marshal(task.Scope)
	if err != nil {
		return err
	}
	// ON CONFLICT keeps a taken key from aborting the transaction, so the
	// caller may go on after the conflict as it can on SQLite.
	tag, err := t.exec(`INSERT INTO tasks (`+taskColumns+`, risk_rank, watch_repo)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20) ON CONFLICT DO NOTHING`,
		task.Key, task.Title, string(scope), task.Lane, task.Owner, task.Creator, task.Status, task.WaitReason,
		task.Risk, task.Priority, encodeList(task.ReviewDomains), task.Mutating, encodeList(task.Labels),
		task.CancelReason, nanos(task.CreatedAt), nanos(task.UpdatedAt), nanos(task.ClosedAt), task.AssignedBy, fairway.RiskRank(task.Risk), watchRepo(task))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fairway.Errorf(fairway.ECONFLICT, "task %q already exists", task.Key)
	}
	return t.index(fairway.TaskSearchDoc(task))
}

// UpdateTask rewrites a task, and when it becomes done (or stops being
// done) moves the pending blocker count of every task waiting on it.
func (t *tx) UpdateTask(task *fairway.Task) error {
	var oldStatus string
	if err := t.queryRow(`SELECT status FROM tasks WHERE key = $1`, task.Key).Scan(&oldStatus); err != nil {
		if isNoRows(err) {
			return notFound("task", task.Key)
		}
		return err
	}
	scope, err := json.Marshal(task.Scope)
	if err != nil {
		return err
	}
	_, err = t.exec(`UPDATE tasks SET title=$1, scope=$2, lane=$3, owner=$4, creator=$5, status=$6, wait_reason=$7, risk=$8, risk_rank=$9,
		priority=$10, review_domains=$11, mutating=$12, labels=$13, cancel_reason=$14, created_at=$15, updated_at=$16, closed_at=$17, assigned_by=$18,
		watch_repo=$19 WHERE key=$20`,
		task.Title, string(scope), task.Lane, task.Owner, task.Creator, task.Status, task.WaitReason, task.Risk,
		fairway.RiskRank(task.Risk), task.Priority, encodeList(task.ReviewDomains), task.Mutating,
		encodeList(task.Labels), task.CancelReason, nanos(task.CreatedAt), nanos(task.UpdatedAt), nanos(task.ClosedAt), task.AssignedBy, watchRepo(task), task.Key)
	if err != nil {
		return err
	}
	if err := t.index(fairway.TaskSearchDoc(task)); err != nil {
		return err
	}
	wasDone, isDone := oldStatus == fairway.StatusDone, task.Status == fairway.StatusDone
	if wasDone != isDone {
		delta := -1
		if wasDone {
			delta = 1
		}
		_, err = t.exec(`UPDATE tasks SET pending_blockers = pending_blockers + $1 WHERE key IN (SELECT blocked FROM dependencies WHERE blocker = $2)`, delta, task.Key)
	}
	return err
}

// Task returns one task.
func (t *tx) Task(key string) (*fairway.Task, error) {
	task, err := scanTask(t.queryRow(`SELECT `+taskColumns+` FROM tasks WHERE key = $1`, key))
	if isNoRows(err) {
		return nil, notFound("task", key)
	}
	return task, err
}

// Tasks lists tasks matching f, by key.
func (t *tx) Tasks(f fairway.TaskFilter) ([]*fairway.Task, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+" = $"+strconv.Itoa(len(args)))
	}
	if f.Lane != "" {
		add("lane", f.Lane)
	}
	if f.Status != "" {
		add("status", f.Status)
	}
	if f.Owner != "" {
		add("owner", f.Owner)
	}
	q := `SELECT ` + taskColumns + ` FROM tasks`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	// sorts by bytes, as SQLite does, whatever the database's
	// locale.
	q += ` ORDER BY key`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += " LIMIT $" + strconv.Itoa(len(args))
	}
	return collect(t, scanTask, q, args...)
}

// WatchingTasks lists the open tasks watching repo through the partial
// index tasks_watching.
func (t *tx) WatchingTasks(repo string) ([]*fairway.Task, error) {
	return collect(t, scanTask, `SELECT `+taskColumns+` FROM tasks
		WHERE watch_repo = $1 AND watch_repo <> '' AND status NOT IN ('done', 'cancelled') ORDER BY key`, repo)
}

// watchRepo is the repository a monitor task watches; empty for any
// other task.
func watchRepo(task *fairway.Task) string {
	if w, ok := fairway.WatchOf(task); ok {
		return w.Repo
	}
	return ""
}

// CountTasksByStatus counts tasks per status in one lane, or in all.
func (t *tx) CountTasksByStatus(lane string) (map[string]int, error) {
	q, args := `SELECT status, COUNT(*) FROM tasks GROUP BY status`, []any{}
	if lane != "" {
		q, args = `SELECT status, COUNT(*) FROM tasks WHERE lane = $1 GROUP BY status`, []any{lane}
	}
	type count struct {
		status string
		n      int
	}
	counts, err := collect(t, func(r rowScanner) (c count, err error) {
		err = r.Scan(&c.status, &c.n)
		return c, err
	}, q, args...)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, c := range counts {
		out[c.status] = c.n
	}
	return out, nil
}

// WaitReasons returns the distinct wait reasons of blocked tasks.
func (t *tx) WaitReasons(lane string) ([]string, error) {
	if lane == "" {
		return t.queryStrings(`SELECT DISTINCT wait_reason FROM tasks WHERE status = 'blocked' ORDER BY wait_reason`)
	}
	return t.queryStrings(`SELECT DISTINCT wait_reason FROM tasks WHERE lane = $1 AND status = 'blocked' ORDER BY wait_reason`, lane)
}

// InsertDependency records blocked ← blocker and counts the blocker as
// pending unless it is done.
func (t *tx) InsertDependency(blocked, blocker string) error {
	tag, err := t.exec(`INSERT INTO dependencies (blocked, blocker) VALUES ($1, $2) ON CONFLICT DO NOTHING`, blocked, blocker)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fairway.Errorf(fairway.ECONFLICT, "%s already depends on %s", blocked, blocker)
	}
	_, err = t.exec(`UPDATE tasks SET pending_blockers = pending_blockers + 1
		WHERE key = $1 AND (SELECT status FROM tasks WHERE key = $2) <> 'done'`, blocked, blocker)
	return err
}

// DeleteDependency removes blocked ← blocker.
func (t *tx) DeleteDependency(blocked, blocker string) error {
	tag, err := t.exec(`DELETE FROM dependencies WHERE blocked = $1 AND blocker = $2`, blocked, blocker)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fairway.Errorf(fairway.ENOTFOUND, "%s does not depend on %s", blocked, blocker)
	}
	_, err = t.exec(`UPDATE tasks SET pending_blockers = pending_blockers - 1
		WHERE key = $1 AND (SELECT status FROM tasks WHERE key = $2) <> 'done'`, blocked, blocker)
	return err
}

// Blockers returns what key depends on.
func (t *tx) Blockers(key string) ([]string, error) {
	return t.queryStrings(`SELECT blocker FROM dependencies WHERE blocked = $1 ORDER BY blocker`, key)
}

// DependsOn reports whether from reaches to through dependencies, in one
// recursive query; UNION keeps each task once, so the walk is linear in
// the ancestors.
func (t *tx) DependsOn(from, to string) (bool, error) {
	var found bool
	err := t.queryRow(`WITH RECURSIVE reach(key) AS (SELECT $1::text COLLATE "C" UNION SELECT d.blocker FROM dependencies d JOIN reach r ON d.blocked = r.key)
		SELECT EXISTS (SELECT 1 FROM reach WHERE key = $2)`, from, to).Scan(&found)
	return found, err
}

// Blocking returns what depends on key.
func (t *tx) Blocking(key string) ([]string, error) {
	return t.queryStrings(`SELECT blocked FROM dependencies WHERE blocker = $1 ORDER BY blocked`, key)
}

const readyOrder = ` ORDER BY priority, risk_rank DESC, created_at, key`

// ReadyTasks reads the ready index: open and nothing pending.
func (t *tx) ReadyTasks(f fairway.NextFilter) ([]*fairway.Task, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = fairway.DefaultNextLimit
	}
	if f.Lane != "" {
		return collect(t, scanTask, `SELECT `+taskColumns+` FROM tasks WHERE lane = $1 AND status = 'open' AND pending_blockers = 0`+readyOrder+` LIMIT $2`, f.Lane, limit)
	}
	return collect(t, scanTask, `SELECT `+taskColumns+` FROM tasks WHERE status = 'open' AND pending_blockers = 0`+readyOrder+` LIMIT $1`, limit)
}

// CountReady counts the ready tasks of a lane, or of all lanes.
func (t *tx) CountReady(lane string) (int, error) {
	var n int
	if lane == "" {
		return n, t.queryRow(`SELECT COUNT(*) FROM tasks WHERE status = 'open' AND pending_blockers = 0`).Scan(&n)
	}
	return n, t.queryRow(`SELECT COUNT(*) FROM tasks WHERE lane = $1 AND status = 'open' AND pending_blockers = 0`, lane).Scan(&n)
}
