package sqlite

import (
	"encoding/json"
	"fmt"
	"strings"

	"fairway"
)

const taskColumns = `key, title, scope, lane, owner, creator, status, wait_reason, risk, priority,
	review_domains, mutating, labels, cancel_reason, created_at, updated_at, closed_at, assigned_by`

type rowScanner interface{ Scan(dest ...any) error }

func scanTask(r rowScanner) (*fairway.Task, error) {
	var (
		t                          fairway.Task
		scope, domains, labels     string
		created, updated, closedAt int64
		mutating                   int
	)
	err := r.Scan(&t.Key, &t.Title, &scope, &t.Lane, &t.Owner, &t.Creator, &t.Status, &t.WaitReason,
		&t.Risk, &t.Priority, &domains, &mutating, &labels, &t.CancelReason, &created, &updated, &closedAt, &t.AssignedBy)
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
	t.Mutating = mutating != 0
	t.CreatedAt, t.UpdatedAt, t.ClosedAt = fromNanos(created), fromNanos(updated), fromNanos(closedAt)
	return &t, nil
}

func (t *tx) scanTasks(query string, args ...any) ([]*fairway.Task, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.Task
	for rows.Next() {
		task, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, task)
	}
	return out, rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// InsertTask stores a new task. Its pending blocker count starts at zero: a
// new task has no dependencies yet.
func (t *tx) InsertTask(task *fairway.Task) error {
	scope, err := json.Marshal(task.Scope)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO tasks (`+taskColumns+`, risk_rank, watch_repo) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		task.Key, task.Title, string(scope), task.Lane, task.Owner, task.Creator, task.Status, task.WaitReason,
		task.Risk, task.Priority, encodeList(task.ReviewDomains), boolInt(task.Mutating), encodeList(task.Labels),
		task.CancelReason, nanos(task.CreatedAt), nanos(task.UpdatedAt), nanos(task.ClosedAt), task.AssignedBy, fairway.RiskRank(task.Risk), watchRepo(task))
	if isUniqueViolation(err) {
		return fairway.Errorf(fairway.ECONFLICT, "task %q already exists", task.Key)
	}
	if err != nil {
		return err
	}
	return t.index(fairway.TaskSearchDoc(task))
}

// UpdateTask rewrites a task, and when it becomes done (or stops being
// done) moves the pending blocker count of every task waiting on it.
func (t *tx) UpdateTask(task *fairway.Task) error {
	var oldStatus string
	if err := t.q.QueryRowContext(t.ctx, `SELECT status FROM tasks WHERE key = ?`, task.Key).Scan(&oldStatus); err != nil {
		if isNoRows(err) {
			return notFound("task", task.Key)
		}
		return mapErr(err)
	}
	scope, err := json.Marshal(task.Scope)
	if err != nil {
		return err
	}
	_, err = t.exec(`UPDATE tasks SET title=?, scope=?, lane=?, owner=?, creator=?, status=?, wait_reason=?, risk=?, risk_rank=?,
		priority=?, review_domains=?, mutating=?, labels=?, cancel_reason=?, created_at=?, updated_at=?, closed_at=?, assigned_by=?, watch_repo=? WHERE key=?`,
		task.Title, string(scope), task.Lane, task.Owner, task.Creator, task.Status, task.WaitReason, task.Risk,
		fairway.RiskRank(task.Risk), task.Priority, encodeList(task.ReviewDomains), boolInt(task.Mutating),
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
		_, err = t.exec(`UPDATE tasks SET pending_blockers = pending_blockers + ? WHERE key IN (SELECT blocked FROM dependencies WHERE blocker = ?)`, delta, task.Key)
	}
	return err
}

// Task returns one task.
func (t *tx) Task(key string) (*fairway.Task, error) {
	task, err := scanTask(t.q.QueryRowContext(t.ctx, `SELECT `+taskColumns+` FROM tasks WHERE key = ?`, key))
	if isNoRows(err) {
		return nil, notFound("task", key)
	}
	return task, mapErr(err)
}

// Tasks lists tasks matching f, by key.
func (t *tx) Tasks(f fairway.TaskFilter) ([]*fairway.Task, error) {
	var where []string
	var args []any
	if f.Lane != "" {
		where, args = append(where, "lane = ?"), append(args, f.Lane)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Owner != "" {
		where, args = append(where, "owner = ?"), append(args, f.Owner)
	}
	q := `SELECT ` + taskColumns + ` FROM tasks`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY key"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return t.scanTasks(q, args...)
}

// WatchingTasks lists the open tasks watching repo through the partial
// index tasks_watching; the query repeats the index's condition so that
// SQLite uses it.
func (t *tx) WatchingTasks(repo string) ([]*fairway.Task, error) {
	return t.scanTasks(`SELECT `+taskColumns+` FROM tasks INDEXED BY tasks_watching
		WHERE watch_repo = ? AND watch_repo <> '' AND status NOT IN ('done', 'cancelled') ORDER BY key`, repo)
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
		q, args = `SELECT status, COUNT(*) FROM tasks WHERE lane = ? GROUP BY status`, []any{lane}
	}
	rows, err := t.q.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, err
		}
		counts[status] = n
	}
	return counts, rows.Err()
}

// WaitReasons returns the distinct wait reasons of blocked tasks.
func (t *tx) WaitReasons(lane string) ([]string, error) {
	if lane == "" {
		return t.queryStrings(`SELECT DISTINCT wait_reason FROM tasks WHERE status = 'blocked' ORDER BY wait_reason`)
	}
	return t.queryStrings(`SELECT DISTINCT wait_reason FROM tasks WHERE lane = ? AND status = 'blocked' ORDER BY wait_reason`, lane)
}

// InsertDependency records blocked ← blocker and counts the blocker as
// pending unless it is done.
func (t *tx) InsertDependency(blocked, blocker string) error {
	_, err := t.exec(`INSERT INTO dependencies (blocked, blocker) VALUES (?, ?)`, blocked, blocker)
	if isUniqueViolation(err) {
		return fairway.Errorf(fairway.ECONFLICT, "%s already depends on %s", blocked, blocker)
	}
	if err != nil {
		return err
	}
	_, err = t.exec(`UPDATE tasks SET pending_blockers = pending_blockers + 1
		WHERE key = ? AND (SELECT status FROM tasks WHERE key = ?) <> 'done'`, blocked, blocker)
	return err
}

// DeleteDependency removes blocked ← blocker.
func (t *tx) DeleteDependency(blocked, blocker string) error {
	res, err := t.exec(`DELETE FROM dependencies WHERE blocked = ? AND blocker = ?`, blocked, blocker)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fairway.Errorf(fairway.ENOTFOUND, "%s does not depend on %s", blocked, blocker)
	}
	_, err = t.exec(`UPDATE tasks SET pending_blockers = pending_blockers - 1
		WHERE key = ? AND (SELECT status FROM tasks WHERE key = ?) <> 'done'`, blocked, blocker)
	return err
}

// Blockers returns what key depends on.
func (t *tx) Blockers(key string) ([]string, error) {
	return t.queryStrings(`SELECT blocker FROM dependencies WHERE blocked = ? ORDER BY blocker`, key)
}

// DependsOn reports whether from reaches to through dependencies, in one
// recursive query; UNION keeps each task once, so the walk is linear in
// the ancestors.
func (t *tx) DependsOn(from, to string) (bool, error) {
	var found bool
	err := t.q.QueryRowContext(t.ctx, `WITH RECURSIVE reach(key) AS (SELECT ? UNION SELECT d.blocker FROM dependencies d JOIN reach r ON d.blocked = r.key)
		SELECT EXISTS (SELECT 1 FROM reach WHERE key = ?)`, from, to).Scan(&found)
	return found, mapErr(err)
}

// Blocking returns what depends on key.
func (t *tx) Blocking(key string) ([]string, error) {
	return t.queryStrings(`SELECT blocked FROM dependencies WHERE blocker = ? ORDER BY blocked`, key)
}

const readyOrder = ` ORDER BY priority, risk_rank DESC, created_at, key`

// ReadyTasks reads the ready index: open and nothing pending.
func (t *tx) ReadyTasks(f fairway.NextFilter) ([]*fairway.Task, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = fairway.DefaultNextLimit
	}
	if f.Lane != "" {
		return t.scanTasks(`SELECT `+taskColumns+` FROM tasks WHERE lane = ? AND status = 'open' AND pending_blockers = 0`+readyOrder+` LIMIT ?`, f.Lane, limit)
	}
	return t.scanTasks(`SELECT `+taskColumns+` FROM tasks WHERE status = 'open' AND pending_blockers = 0`+readyOrder+` LIMIT ?`, limit)
}

// CountReady counts the ready tasks of a lane, or of all lanes.
func (t *tx) CountReady(lane string) (int, error) {
	var n int
	var err error
	if lane == "" {
		err = t.q.QueryRowContext(t.ctx, `SELECT COUNT(*) FROM tasks WHERE status = 'open' AND pending_blockers = 0`).Scan(&n)
	} else {
		err = t.q.QueryRowContext(t.ctx, `SELECT COUNT(*) FROM tasks WHERE lane = ? AND status = 'open' AND pending_blockers = 0`, lane).Scan(&n)
	}
	return n, mapErr(err)
}
