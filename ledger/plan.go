package ledger

import (
	"context"
	"slices"
	"sort"
	"strconv"
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
		out.PolicyDigest, out.UnblocksBound = rec.Digest, UnblocksBound
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
			w, err := laneWait(tx, s, limit)
			if err != nil {
				return err
			}
			out.Waiting = append(out.Waiting, w)
		}
		if !found {
			return fairway.Errorf(fairway.ENOTFOUND, "lane %q not found", f.Lane)
		}
		safe, err := l.safeWork(tx, p, limit)
		if err != nil {
			return err
		}
		out.Safe = safe
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// docsLabels mark docs, runbook and portal work.
var docsLabels = []string{"docs", "runbook", "portal"}

// safeWork lists what is safe to do while lanes wait, each with why and
// what to do, the most unblocking first (ready order, then the order of
// the kinds, breaks ties).
func (l *Ledger) safeWork(tx fairway.Tx, p *policy.Policy, limit int) ([]*fairway.SafeWork, error) {
	var out []*fairway.SafeWork
	// works reports whether work on t could change a protected control:
	// such a task is never offered to be worked on (R5).
	unsafe := func(t *fairway.Task) bool { return t.Mutating || len(p.ProtectedClassesOf(t)) > 0 }
	g := newGraph(tx)
	add := func(w *fairway.SafeWork, key string) error {
		n, err := g.unblocks(key)
		if err != nil {
			return err
		}
		w.Unblocks = n
		out = append(out, w)
		return nil
	}
	terminalEvidence := func(t *fairway.Task) (string, error) {
		list, err := tx.LatestProof(t.Key, fairway.EvidenceCITerminal)
		if err != nil || len(list) == 0 {
			return "", err
		}
		return list[0].ID, nil
	}
	// Ready tasks: safe work is a share of them; read a page a few times
	// the limit, so the ranking has a choice and the plan stays cheap on
	// a large ledger.
	page := limit + 10
	ready, err := tx.ReadyTasks(fairway.NextFilter{Limit: page})
	if err != nil {
		return nil, err
	}
	for _, t := range ready {
		if unsafe(t) {
			continue
		}
		w := &fairway.SafeWork{Kind: fairway.SafeTask, Task: t, Action: "`fairway task take " + t.Key + "`",
			Why: "not mutating and touches no protected change class: working it changes no environment"}
		switch {
		case slices.Contains(t.Labels, fairway.LabelMonitor):
			ev, err := terminalEvidence(t)
			if err != nil {
				return nil, err
			}
			if ev == "" {
				continue // its run has not ended: nothing to do yet
			}
			w.Kind, w.Why = fairway.SafeMonitor, "monitor task whose watched run ended ("+ev+"): settling it reads what CI recorded and changes nothing"
			w.Action = "move it to review: `fairway task move " + t.Key + " in_review`; a human closes it"
		case p.IsSafeFallback(t) || slices.ContainsFunc(t.Labels, func(l string) bool { return slices.Contains(docsLabels, l) }):
			w.Kind, w.Why = fairway.SafeDocs, safeWhy(p, t)
		}
		if err := add(w, t.Key); err != nil {
			return nil, err
		}
	}
	// Tasks in review: a monitor whose run ended waits only for a human's
	// close; a required domain nobody reviewed waits to be routed.
	inReview, err := tx.Tasks(fairway.TaskFilter{Status: fairway.StatusInReview, Limit: page})
	if err != nil {
		return nil, err
	}
	for _, t := range inReview {
		if slices.Contains(t.Labels, fairway.LabelMonitor) && !unsafe(t) {
			ev, err := terminalEvidence(t)
			if err != nil {
				return nil, err
			}
			if ev != "" {
				if err := add(&fairway.SafeWork{Kind: fairway.SafeMonitor, Task: t, Why: "monitor task whose watched run ended (" + ev + "): its terminal evidence is recorded",
					Action: "a human closes it once its gate passes: `fairway task close " + t.Key + "`"}, t.Key); err != nil {
					return nil, err
				}
				continue
			}
		}
		needs, err := p.Needs(t, false)
		if err != nil {
			return nil, err
		}
		reviews, err := tx.Reviews(t.Key)
		if err != nil {
			return nil, err
		}
		var unrouted []string
		for _, n := range needs {
			if n.Kind != policy.NeedReview || slices.ContainsFunc(reviews, func(r *fairway.Review) bool { return r.Domain == n.Name }) {
				continue
			}
			if !slices.Contains(unrouted, n.Name) {
				unrouted = append(unrouted, n.Name)
			}
		}
		if len(unrouted) > 0 {
			if err := add(&fairway.SafeWork{Kind: fairway.SafeReview, Task: t,
				Why:    "in review, and nobody of " + strings.Join(unrouted, ", ") + " has reviewed it: asking a reviewer moves it toward its approval and loosens nothing",
				Action: "ask a member of " + strings.Join(unrouted, ", ") + " to review it: `fairway gate explain " + t.Key + "` names the domains"}, t.Key); err != nil {
				return nil, err
			}
		}
	}
	// Deploy-runs: findings without a follow-up task; non-production
	// suites due to run.
	runs, err := tx.DeployRuns(fairway.DeployFilter{})
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if r.State != fairway.DeployRunning {
			continue
		}
		t, err := tx.Task(r.Task)
		if err != nil {
			return nil, err
		}
		failed := ""
		for _, st := range []string{fairway.StageSmoke, fairway.StageUAT} {
			if r.Stage(st).Status == fairway.StageFailed {
				failed = st
			}
		}
		id := strconv.FormatInt(r.ID, 10)
		switch {
		case failed != "" && len(r.FollowUps) == 0:
			err = add(&fairway.SafeWork{Kind: fairway.SafeFinding, Task: t, Run: r.ID,
				Why:    "deploy-run " + id + " failed its " + failed + " checks and no follow-up task holds the findings: recording them changes no environment",
				Action: "after a rollback that passed or a human's no-rollback: `fairway deploy stage " + id + " follow-up --status passed --finding TEXT`"}, t.Key)
		case failed == "" && !r.Protected && r.Class != "production" && r.Stage(fairway.StageDeploy).Status == fairway.StagePassed:
			due := ""
			for _, st := range []string{fairway.StageSmoke, fairway.StageUAT} {
				if due == "" && r.Stage(st).Status == fairway.StagePending {
					due = st
				}
			}
			if due == "" {
				continue
			}
			err = add(&fairway.SafeWork{Kind: fairway.SafeSuite, Task: t, Run: r.ID,
				Why: "the " + due + " suite of deploy-run " + id + " in " + r.Environment + " (" + r.Class + ", not production) is due: its checks touch no production control, " +
					"and mutating checks are refused while the environment's prerequisites are unmet",
				Action: "`fairway check run SUITE --task " + t.Key + " --deploy " + id + " --stage " + due + "`"}, t.Key)
		}
		if err != nil {
			return nil, err
		}
	}
	// What it unblocks decides; ready order, then the kinds' order, break
	// ties.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Unblocks > out[j].Unblocks })
	if len(out) > limit {
		out = out[:limit]
	}
	if out == nil {
		out = []*fairway.SafeWork{}
	}
	return out, nil
}

// laneWait lists what a waiting lane's tasks wait on: the first limit
// of them with their blockers (blocked ones first, then those in review,
// then those waiting on dependencies), and how many there are.
func laneWait(tx fairway.Tx, s *fairway.LaneState, limit int) (*fairway.LaneWait, error) {
	w := &fairway.LaneWait{Lane: s.Name, WaitingOn: s.WaitingOn, Held: []*fairway.HeldTask{}}
	counts, err := tx.CountTasksByStatus(s.Name)
	if err != nil {
		return nil, err
	}
	for _, st := range []string{fairway.StatusBlocked, fairway.StatusInReview, fairway.StatusOpen} {
		// An open task of a waiting lane is not ready: it waits on its
		// dependencies.
		w.HeldTotal += counts[st]
		if len(w.Held) >= limit || counts[st] == 0 {
			continue
		}
		tasks, err := tx.Tasks(fairway.TaskFilter{Lane: s.Name, Status: st, Limit: limit - len(w.Held)})
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
			default:
				h.WaitsOn = fairway.WaitDependency
			}
			if h.Blockers, err = unfinishedBlockers(tx, t.Key); err != nil {
				return nil, err
			}
			w.Held = append(w.Held, h)
		}
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

// UnblocksBound is how many tasks downstream of one piece of safe work
// the planner looks at: it counts the unfinished ones among them, so a
// count of UnblocksBound or more means "at least that many".
const UnblocksBound = 10

// graph memoises the dependency edges and task statuses one plan reads,
// so that overlapping downstream walks read each task once.
type graph struct {
	tx       fairway.Tx
	blocking map[string][]string
	status   map[string]string
}

func newGraph(tx fairway.Tx) *graph {
	return &graph{tx: tx, blocking: map[string][]string{}, status: map[string]string{}}
}

func (g *graph) next(key string) ([]string, error) {
	if n, ok := g.blocking[key]; ok {
		return n, nil
	}
	n, err := g.tx.Blocking(key)
	g.blocking[key] = n
	return n, err
}

func (g *graph) statusOf(key string) (string, error) {
	if s, ok := g.status[key]; ok {
		return s, nil
	}
	t, err := g.tx.Task(key)
	if err != nil {
		return "", err
	}
	g.status[key] = t.Status
	return t.Status, nil
}

// unblocks counts the unfinished tasks downstream of key, each once,
// breadth first, looking at UnblocksBound tasks at most.
func (g *graph) unblocks(key string) (int, error) {
	seen := map[string]bool{key: true}
	queue := []string{key}
	n := 0
	for len(queue) > 0 && len(seen) <= UnblocksBound {
		k := queue[0]
		queue = queue[1:]
		next, err := g.next(k)
		if err != nil {
			return 0, err
		}
		for _, d := range next {
			if seen[d] || len(seen) > UnblocksBound {
				continue
			}
			seen[d] = true
			st, err := g.statusOf(d)
			if err != nil {
				return 0, err
			}
			if !fairway.IsTerminal(st) {
				n++
			}
			queue = append(queue, d)
		}
	}
	return n, nil
}

// safeWhy says why a labelled task counts as safe.
func safeWhy(p *policy.Policy, t *fairway.Task) string {
	var labels []string
	for _, l := range t.Labels {
		if slices.Contains(p.Fallback.SafeLabels, l) || slices.Contains(docsLabels, l) {
			labels = append(labels, l)
		}
	}
	return "labelled " + strings.Join(labels, ", ") + " (docs, runbook, portal or the policy's fallback work); not mutating; touches no protected change class"
}
