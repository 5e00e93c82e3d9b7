package ledger

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"fairway"
	"fairway/policy"
)

// CheckScope records what a change touched against its task: every path
// mapped through the policy's layer contracts, the review domains of the
// layers it reaches beyond the task's own (added to the gate: widening is
// automatic), and the paths outside the task's declared scope (a scope
// requirement a human owner acknowledges). Anyone who may write to the
// task may check it; an agent through its session.
func (l *Ledger) CheckScope(ctx context.Context, c fairway.ScopeCheck) (*fairway.ScopeRecord, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(c); err != nil {
		return nil, err
	}
	var out *fairway.ScopeRecord
	err := l.write(ctx, "scope.check", c.Task, func(w *write) error {
		var named *fairway.Session
		if c.Session != "" {
			s, err := w.tx.Session(c.Session)
			if err != nil {
				return err
			}
			if s.Task != c.Task {
				return fairway.FieldError("session", "session %s works on task %s, not %s", s.ID, s.Task, c.Task)
			}
			named = s
		}
		// The actor of a live session may check the session's change
		// with its own credential (at detach, say); otherwise the usual
		// rule: an agent writes to a held task only through its session.
		if w.session == nil && named != nil && named.Actor == w.by.Name && named.Live(w.now) {
			w.taskScoped = true
		} else if err := w.onTask(c.Task); err != nil {
			return err
		}
		task, err := w.tx.Task(c.Task)
		if err != nil {
			return err
		}
		p, _, err := l.activePolicy(w.tx)
		if err != nil {
			return err
		}
		out = mapScope(p, task, c)
		out.By, out.At = w.by.Name, w.now
		if err := w.tx.InsertScopeRecord(out); err != nil {
			return err
		}
		return w.record(map[string]any{"scope": out})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mapScope maps a change's paths through the policy and the task's
// declared scope.
func mapScope(p *policy.Policy, task *fairway.Task, c fairway.ScopeCheck) *fairway.ScopeRecord {
	paths := slices.Clone(c.Paths)
	sort.Strings(paths)
	paths = slices.Compact(paths)
	rec := &fairway.ScopeRecord{Task: task.Key, Kind: fairway.ScopeChecked, Session: c.Session, Base: c.Base, Paths: paths, Note: strings.TrimSpace(c.Note)}
	var globs []string
	globs = append(globs, task.Scope.Paths...)
	for _, ct := range task.Scope.Contracts {
		if g, ok := strings.CutPrefix(ct, "path:"); ok {
			globs = append(globs, g)
		}
	}
	for _, path := range paths {
		if !slices.ContainsFunc(globs, func(g string) bool { return policy.MatchPath(g, path) }) {
			rec.Outside = append(rec.Outside, path)
		}
		if p == nil {
			continue
		}
		for _, layer := range p.OwnersOfPath(path) {
			if rec.Layers == nil {
				rec.Layers = map[string][]string{}
			}
			rec.Layers[layer] = append(rec.Layers[layer], path)
		}
	}
	if p != nil {
		own := p.LayerOfLane(task.Lane)
		for layer := range rec.Layers {
			if d := p.Layers[layer].ReviewDomain; layer != own && d != "" && !slices.Contains(rec.Domains, d) {
				rec.Domains = append(rec.Domains, d)
			}
		}
		sort.Strings(rec.Domains)
	}
	return rec
}

// AcknowledgeScope records a human owner's acknowledgement of paths a
// change touched outside its task's declared scope. Only a human, with
// its own credential, acknowledges (an agent's attempt is refused and
// audited); each path must be one a check found outside and not yet
// acknowledged.
func (l *Ledger) AcknowledgeScope(ctx context.Context, a fairway.ScopeAcknowledge) (*fairway.ScopeRecord, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(a); err != nil {
		return nil, err
	}
	var out *fairway.ScopeRecord
	err := l.write(ctx, "scope.acknowledge", a.Task, func(w *write) error {
		w.taskScoped = true
		if err := w.requireHuman("acknowledge changes outside a task's scope", "Ask a human owner of the task to review the paths"); err != nil {
			return err
		}
		if _, err := w.tx.Task(a.Task); err != nil {
			return err
		}
		records, err := w.tx.ScopeRecords(a.Task)
		if err != nil {
			return err
		}
		open := unacknowledged(records)
		paths := slices.Clone(a.Paths)
		sort.Strings(paths)
		paths = slices.Compact(paths)
		for _, p := range paths {
			if !slices.Contains(open, p) {
				if len(open) == 0 {
					return fairway.FieldError("paths", "%s has no change outside its scope waiting for acknowledgement", a.Task)
				}
				return fairway.FieldError("paths", "%s is not a path changed outside the scope of %s waiting for acknowledgement; those are: %s", p, a.Task, strings.Join(open, ", "))
			}
		}
		out = &fairway.ScopeRecord{Task: a.Task, Kind: fairway.ScopeAcknowledged, Paths: paths, Note: strings.TrimSpace(a.Note), By: w.by.Name, At: w.now}
		if err := w.tx.InsertScopeRecord(out); err != nil {
			return err
		}
		return w.record(map[string]any{"scope": out})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ScopeRecords lists a task's scope checks and acknowledgements, oldest
// first.
func (l *Ledger) ScopeRecords(ctx context.Context, task string) ([]*fairway.ScopeRecord, error) {
	out := []*fairway.ScopeRecord{}
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		if _, err := tx.Task(task); err != nil {
			return err
		}
		list, err := tx.ScopeRecords(task)
		if list != nil {
			out = list
		}
		return err
	})
	return out, err
}

// unacknowledged lists the paths any check found outside the task's
// scope that no acknowledgement covers, sorted. An acknowledged path
// stays acknowledged (the diff from the base keeps showing it); a path
// newly found outside opens the requirement again.
func unacknowledged(records []*fairway.ScopeRecord) []string {
	outside := map[string]bool{}
	acked := map[string]bool{}
	for _, r := range records {
		switch r.Kind {
		case fairway.ScopeChecked:
			for _, p := range r.Outside {
				outside[p] = true
			}
		case fairway.ScopeAcknowledged:
			for _, p := range r.Paths {
				acked[p] = true
			}
		}
	}
	var out []string
	for p := range outside {
		if !acked[p] {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// scopeWidening is the review needs the task's scope checks add to its
// gate: the domain of every layer a change touched beyond the task's own,
// for as long as the record stands (a later check never narrows them).
func scopeWidening(p *policy.Policy, records []*fairway.ScopeRecord) []*policy.Need {
	byDomain := map[string]*policy.Need{}
	var order []string
	for _, r := range records {
		if r.Kind != fairway.ScopeChecked {
			continue
		}
		for _, d := range r.Domains {
			n := byDomain[d]
			if n == nil {
				n = &policy.Need{ID: policy.NeedReview + ":" + d, Kind: policy.NeedReview, Name: d, MinApprovals: p.MinApprovals(d), RequireMFA: p.RequiresMFA(d)}
				byDomain[d] = n
				order = append(order, d)
			}
			for layer, paths := range r.Layers {
				if p.Layers[layer] != nil && p.Layers[layer].ReviewDomain == d {
					n.Because = append(n.Because, fmt.Sprintf("scope check %d: the change touches %s, owned by layer %s", r.ID, paths[0], layer))
				}
			}
		}
	}
	out := make([]*policy.Need, 0, len(order))
	for _, d := range order {
		sort.Strings(byDomain[d].Because)
		out = append(out, byDomain[d])
	}
	return out
}
