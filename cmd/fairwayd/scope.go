package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"fairway"
	"fairway/scope"
)

// scopeCheckOptions are the flags of `fairway scope check`.
type scopeCheckOptions struct {
	task, dir, base, session string
}

func init() {
	register(&command{
		name: "scope check", summary: "Check a change against its task's declared scope: touched layers widen the gate, outside paths wait for a human", args: "KEY [--base COMMIT] [--worktree DIR] [--from-session ID]",
		example: `fairway scope check OPS-FIX-001 --base 0123abcd            # git diff --name-only 0123abcd, plus untracked files
fairway scope check OPS-FIX-001 --from-session ses-0123456789abcdef  # the session's work tree and base commit
fairway scope check OPS-FIX-001 --base "$(git rev-parse HEAD)" --json   # what is not committed yet`,
		setup: func(fs *flag.FlagSet) runFunc {
			var o scopeCheckOptions
			fs.StringVar(&o.task, "task", "", "the task (or KEY as the argument)")
			fs.StringVar(&o.base, "base", "", "the `COMMIT` the work started from (default: the session's base commit)")
			fs.StringVar(&o.dir, "worktree", "", "the work tree `DIR` (default: the session's, else the current folder)")
			fs.StringVar(&o.session, "from-session", "", "take the work tree and base commit from this session `ID` (default: --session or $FAIRWAY_SESSION)")
			return func(a *app, pos []string) error { return scopeCheck(a, pos, o) }
		},
	})
	register(&command{
		name: "scope acknowledge", summary: "Acknowledge paths a change touched outside its task's scope (humans only)", args: "KEY --paths PATH,…",
		example: `fairway scope acknowledge OPS-FIX-001 --paths services/gpuaas/alloc.go --note "agreed with the gpuaas owners" --as priya`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "the task (or KEY as the argument)")
			paths := listVar(fs, "paths", "the `PATHS` to acknowledge, comma-separated or repeated")
			note := fs.String("note", "", "why the change may stand")
			return func(a *app, pos []string) error {
				key, err := taskArg(pos, *task, 0)
				if err != nil {
					return err
				}
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				rec, err := svc.AcknowledgeScope(ctx, fairway.ScopeAcknowledge{Task: key, Paths: paths.vals, Note: *note})
				if err != nil {
					return err
				}
				return a.output(rec, func(w io.Writer) { printScopeRecord(w, rec) })
			}
		},
	})
	register(&command{
		name: "scope list", summary: "List a task's scope checks and acknowledgements", args: "KEY",
		example: `fairway scope list OPS-FIX-001 --json`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "the task (or KEY as the argument)")
			return func(a *app, pos []string) error {
				key, err := taskArg(pos, *task, 0)
				if err != nil {
					return err
				}
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				list, err := svc.ScopeRecords(ctx, key)
				if err != nil {
					return err
				}
				return a.output(list, func(w io.Writer) {
					if len(list) == 0 {
						fmt.Fprintf(w, "no scope check of %s yet: `fairway scope check %s --base COMMIT`\n", key, key)
					}
					for _, r := range list {
						printScopeRecord(w, r)
					}
				})
			}
		},
	})
}

func scopeCheck(a *app, pos []string, o scopeCheckOptions) error {
	key, err := taskArg(pos, o.task, 0)
	if err != nil {
		return err
	}
	svc, ctx, err := a.connect()
	if err != nil {
		return err
	}
	id := firstNonEmpty(o.session, a.session, a.getenv("FAIRWAY_SESSION"))
	dir, base := o.dir, o.base
	if id != "" {
		s, err := svc.GetSession(ctx, id)
		if err != nil {
			return err
		}
		if s.Task != key {
			return fairway.FieldError("session", "session %s works on %s, not %s", id, s.Task, key)
		}
		dir, base = firstNonEmpty(dir, s.Dir), firstNonEmpty(base, s.BaseCommit)
	}
	if base == "" {
		return usagef("give the commit the work started from: --base COMMIT, or a session that recorded one (--from-session ID)")
	}
	if dir == "" {
		dir = "."
	}
	rec, gate, err := checkScopeOf(ctx, svc, key, id, dir, base)
	if err != nil {
		return err
	}
	return a.output(rec, func(w io.Writer) {
		printScopeRecord(w, rec)
		for _, r := range gate.Requirements {
			if r.ID == "scope" {
				fmt.Fprintf(w, "gate: scope %s: %s\n", r.State, r.Detail)
				if r.Remedy != "" {
					fmt.Fprintf(w, "  to satisfy: %s\n", r.Remedy)
				}
			}
		}
	})
}

// checkScopeOf diffs the work tree at dir against base and records the
// check on the task; it returns the check and the gate after it.
func checkScopeOf(ctx context.Context, svc fairway.Service, key, session, dir, base string) (*fairway.ScopeRecord, *fairway.GateDecision, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	paths, err := scope.Changed(abs, base)
	if err != nil {
		return nil, nil, err
	}
	rec, err := svc.CheckScope(ctx, fairway.ScopeCheck{Task: key, Session: session, Base: base, Paths: paths})
	if err != nil {
		return nil, nil, err
	}
	gate, err := svc.ExplainGate(ctx, key)
	return rec, gate, err
}

// scopeAtDetach checks the change of a session that recorded its work
// tree and base commit before it detaches. A work tree that cannot be
// read does not keep a session attached: it is said, and the detach goes
// on.
func (a *app) scopeAtDetach(ctx context.Context, svc fairway.Service, id string) {
	s, err := svc.GetSession(ctx, id)
	if err != nil || s.Dir == "" || s.BaseCommit == "" {
		return
	}
	rec, gate, err := checkScopeOf(ctx, svc, s.Task, s.ID, s.Dir, s.BaseCommit)
	if err != nil {
		fmt.Fprintf(a.stderr, "fairway: the scope of %s's change was not checked: %s\n", s.Task, fairway.ErrorMessage(err))
		return
	}
	if a.json {
		return
	}
	printScopeRecord(a.stderr, rec)
	for _, r := range gate.Requirements {
		if r.ID == "scope" && r.State == fairway.ReqUnsatisfied {
			fmt.Fprintf(a.stderr, "gate: scope %s: %s\n", r.State, r.Detail)
		}
	}
}

func printScopeRecord(w io.Writer, r *fairway.ScopeRecord) {
	if r.Kind == fairway.ScopeAcknowledged {
		fmt.Fprintf(w, "scope %d of %s: %s acknowledged %s", r.ID, r.Task, r.By, strings.Join(r.Paths, ", "))
		if r.Note != "" {
			fmt.Fprintf(w, " (%s)", oneLine(r.Note))
		}
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "scope check %d of %s by %s: %d path(s) changed since %s\n", r.ID, r.Task, r.By, len(r.Paths), orDash(r.Base))
	layers := make([]string, 0, len(r.Layers))
	for l := range r.Layers {
		layers = append(layers, l)
	}
	sort.Strings(layers)
	for _, l := range layers {
		fmt.Fprintf(w, "  layer %s: %s\n", l, strings.Join(r.Layers[l], ", "))
	}
	if len(r.Outside) > 0 {
		fmt.Fprintf(w, "  outside the declared scope: %s\n", strings.Join(r.Outside, ", "))
	}
	if len(r.Domains) > 0 {
		fmt.Fprintf(w, "  reviews added to the gate: %s\n", strings.Join(r.Domains, ", "))
	}
}
