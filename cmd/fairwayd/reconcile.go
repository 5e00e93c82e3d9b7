package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"fairway"
)

// reconcileReport is what to settle before switching lanes.
type reconcileReport struct {
	// Scope says whose work was read: an actor's, or one session's task.
	Scope      string           `json:"scope"`
	InProgress []*reconcileTask `json:"in_progress"`
	Unrouted   []*reconcileTask `json:"unrouted_reviews"`
	Unlinked   []*reconcileEvid `json:"unlinked_evidence"`
	Unbacked   []*fairway.Claim `json:"claims_without_evidence"`
	Settled    bool             `json:"settled"`
}

type reconcileTask struct {
	Key    string   `json:"key"`
	Title  string   `json:"title"`
	Lane   string   `json:"lane,omitempty"`
	Detail []string `json:"detail,omitempty"`
}

type reconcileEvid struct {
	Evidence string `json:"evidence"`
	Task     string `json:"task"`
	Kind     string `json:"kind"`
}

func init() {
	register(&command{
		name: "reconcile", summary: "Before switching lanes: your in-progress tasks, reviews nobody was asked for, evidence no requirement reads, claims no evidence backs",
		args: "[--session ID]",
		example: `fairway reconcile --as codex-1
fairway reconcile --session ses-0123456789abcdef --json`,
		setup: func(fs *flag.FlagSet) runFunc {
			// --session (global) narrows to that session's task and what it
			// recorded and claimed.
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				r, err := reconcile(ctx, svc, firstNonEmpty(a.session, a.getenv("FAIRWAY_SESSION")))
				if err != nil {
					return err
				}
				if err := a.output(r, func(w io.Writer) { printReconcile(w, r) }); err != nil {
					return err
				}
				if !r.Settled {
					return exitStatus{exitFailure}
				}
				return nil
			}
		},
	})
}

func reconcile(ctx context.Context, svc fairway.Service, session string) (*reconcileReport, error) {
	r := &reconcileReport{InProgress: []*reconcileTask{}, Unrouted: []*reconcileTask{}, Unlinked: []*reconcileEvid{}, Unbacked: []*fairway.Claim{}}
	var tasks []*fairway.Task
	if session != "" {
		s, err := svc.GetSession(ctx, session)
		if err != nil {
			return nil, err
		}
		t, err := svc.GetTask(ctx, s.Task)
		if err != nil {
			return nil, err
		}
		r.Scope, tasks = "session "+s.ID+" on "+t.Key, []*fairway.Task{t}
	} else {
		me, err := svc.Whoami(ctx)
		if err != nil {
			return nil, err
		}
		r.Scope = "tasks owned by " + me.Name
		for _, st := range []string{fairway.StatusInProgress, fairway.StatusInReview} {
			list, err := svc.ListTasks(ctx, fairway.TaskFilter{Status: st, Owner: me.Name})
			if err != nil {
				return nil, err
			}
			tasks = append(tasks, list...)
		}
	}
	for _, t := range tasks {
		if t.Status == fairway.StatusInProgress {
			r.InProgress = append(r.InProgress, &reconcileTask{Key: t.Key, Title: t.Title, Lane: t.Lane})
		}
		if fairway.IsTerminal(t.Status) {
			continue
		}
		d, err := svc.ExplainGate(ctx, t.Key)
		if err != nil {
			return nil, err
		}
		reviews, err := svc.ListReviews(ctx, t.Key)
		if err != nil {
			return nil, err
		}
		// Evidence is linked when a requirement reads its kind or names it,
		// or a deploy-run stage cites it.
		linked := map[string]bool{}
		var cited []string
		var unrouted []string
		for _, req := range d.Requirements {
			if kind, ok := strings.CutPrefix(req.ID, "evidence:"); ok {
				linked[kind] = true
			}
			cited = append(cited, req.Detail)
			if req.Kind == "review" && req.State == fairway.ReqUnsatisfied && !slices.ContainsFunc(reviews, func(rv *fairway.Review) bool { return rv.Domain == req.Name }) {
				unrouted = append(unrouted, req.Name)
			}
		}
		if t.Status == fairway.StatusInReview && len(unrouted) > 0 {
			r.Unrouted = append(r.Unrouted, &reconcileTask{Key: t.Key, Title: t.Title, Lane: t.Lane, Detail: unrouted})
		}
		runs, err := svc.ListDeployRuns(ctx, fairway.DeployFilter{Task: t.Key})
		if err != nil {
			return nil, err
		}
		for _, run := range runs {
			for _, st := range run.Stages {
				cited = append(cited, strings.Join(st.Evidence, " "))
			}
		}
		all := strings.Join(cited, " ")
		evs, err := svc.ListEvidence(ctx, fairway.EvidenceFilter{Task: t.Key})
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if session != "" && e.Session != session {
				continue
			}
			// Context is never proof (R11); a claim is not evidence.
			if e.Kind == fairway.EvidenceContext || linked[e.Kind] || strings.Contains(all, e.ID) {
				continue
			}
			r.Unlinked = append(r.Unlinked, &reconcileEvid{Evidence: e.ID, Task: t.Key, Kind: e.Kind})
		}
		claims, err := svc.ListClaims(ctx, t.Key)
		if err != nil {
			return nil, err
		}
		for _, c := range claims {
			if session != "" && c.Session != session {
				continue
			}
			backed := slices.ContainsFunc(evs, func(e *fairway.Evidence) bool {
				return e.Kind != fairway.EvidenceContext && !e.RecordedAt.Before(c.At)
			})
			if !backed {
				r.Unbacked = append(r.Unbacked, c)
			}
		}
	}
	r.Settled = len(r.InProgress)+len(r.Unrouted)+len(r.Unlinked)+len(r.Unbacked) == 0
	return r, nil
}

func printReconcile(w io.Writer, r *reconcileReport) {
	fmt.Fprintf(w, "reconcile %s\n", r.Scope)
	if r.Settled {
		fmt.Fprintln(w, "settled: nothing in progress, every review asked for, all evidence read by a requirement, every claim backed")
		return
	}
	for _, t := range r.InProgress {
		fmt.Fprintf(w, "  in progress     %-32s hand it off (`fairway session detach --handoff TEXT`) or move it (`fairway task move %s in_review`)\n", t.Key, t.Key)
	}
	for _, t := range r.Unrouted {
		fmt.Fprintf(w, "  review unasked  %-32s ask %s to review it\n", t.Key, strings.Join(t.Detail, ", "))
	}
	for _, e := range r.Unlinked {
		fmt.Fprintf(w, "  evidence        %-32s %s on %s: no requirement reads it; cite it on a deploy stage or say why it is there\n", e.Evidence, e.Kind, e.Task)
	}
	for _, c := range r.Unbacked {
		fmt.Fprintf(w, "  claim           %-32s %q by %s: no evidence recorded since; record it with `fairway run --task %s -- CMD`\n", fmt.Sprintf("%d on %s", c.ID, c.Task), oneLine(c.Text), c.Actor, c.Task)
	}
}
