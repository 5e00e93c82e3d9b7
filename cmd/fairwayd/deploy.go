package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"fairway"
)

// eachFlag collects a repeatable flag, one value per use, commas kept:
// a finding is a sentence.
type eachFlag []string

func (e *eachFlag) String() string     { return strings.Join(*e, "; ") }
func (e *eachFlag) Set(v string) error { *e = append(*e, v); return nil }

func runNumber(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%q is not a deploy-run number", s)
	}
	return id, nil
}

func printDeployRun(w io.Writer, r *fairway.DeployRun) {
	prot := ""
	if r.Protected {
		prot = ", protected"
	}
	fmt.Fprintf(w, "deploy-run %d of %s: %s\n", r.ID, r.Task, r.State)
	fmt.Fprintf(w, "  environment %s (%s%s), commit %s\n", r.Environment, r.Class, prot, r.Commit)
	for _, a := range r.Artifacts {
		fmt.Fprintf(w, "  artifact %s\n", a)
	}
	fmt.Fprintf(w, "  started by %s at %s", r.StartedBy, fmtTime(r.StartedAt))
	if !r.FinishedAt.IsZero() {
		fmt.Fprintf(w, ", finished at %s", fmtTime(r.FinishedAt))
	}
	fmt.Fprintln(w)
	for _, s := range r.Stages {
		fmt.Fprintf(w, "  %-9s %-8s", s.Name, s.Status)
		if s.By != "" {
			fmt.Fprintf(w, " by %s (%s) at %s", s.By, s.ByKind, fmtTime(s.At))
		}
		if len(s.Evidence) > 0 {
			fmt.Fprintf(w, " evidence %s", oneLine(strings.Join(s.Evidence, ", ")))
		}
		if s.Note != "" {
			fmt.Fprintf(w, ": %s", oneLine(s.Note))
		}
		fmt.Fprintln(w)
	}
	if d := r.NoRollback; d != nil {
		fmt.Fprintf(w, "  not rolled back, decided by %s at %s: %s\n", d.By, fmtTime(d.At), oneLine(d.Reason))
	}
	if len(r.FollowUps) > 0 {
		fmt.Fprintf(w, "  follow-up tasks: %s\n", strings.Join(r.FollowUps, ", "))
	}
}

func init() {
	register(&command{
		name: "deploy start", summary: "Open a deploy-run of a task in an environment the policy declares", args: "--task KEY --env ENV --commit SHA [--artifact DIGEST]...",
		example: `fairway deploy start --task OPS-FIX-001 --env dev --commit 0123abcd`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "the task whose change is deployed (required)")
			env := fs.String("env", "", "an environment declared by the policy (required)")
			commit := fs.String("commit", "", "the source commit deployed, hex (required)")
			artifacts := listVar(fs, "artifact", "an artifact digest, sha256:HEX (repeatable)")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				r, err := svc.StartDeploy(ctx, fairway.DeployStart{Task: *task, Environment: *env, Commit: *commit, Artifacts: artifacts.vals})
				if err != nil {
					return err
				}
				return a.output(r, func(w io.Writer) { printDeployRun(w, r) })
			}
		},
	})
	register(&command{
		name: "deploy stage", summary: "Move a stage of a deploy-run: ci, deploy, smoke, uat, rollback, follow-up", args: "RUN STAGE --status running|passed|failed|skipped [--evidence EV-…] [--note TEXT] [--finding TEXT]...",
		example: `fairway deploy stage 1 ci --status passed --evidence EV-1`,
		setup: func(fs *flag.FlagSet) runFunc {
			status := fs.String("status", "", "running, passed, failed or skipped (required)")
			evidence := listVar(fs, "evidence", "evidence of the stage's outcome (repeatable; passed needs evidence that shows success)")
			note := fs.String("note", "", "a note (required to skip a stage)")
			var findings eachFlag
			fs.Var(&findings, "finding", "on follow-up: a finding, made a follow-up task (repeatable)")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 2, "RUN STAGE")
				if err != nil {
					return err
				}
				id, err := runNumber(pos[0])
				if err != nil {
					return err
				}
				r, err := svc.MoveStage(ctx, fairway.StageMove{Run: id, Stage: pos[1], Status: *status, Evidence: evidence.vals, Note: *note, Findings: findings})
				if err != nil {
					return err
				}
				return a.output(r, func(w io.Writer) { printDeployRun(w, r) })
			}
		},
	})
	register(&command{
		name: "deploy no-rollback", summary: "Decide not to roll back a run whose smoke or UAT failed (humans only)", args: "RUN --reason TEXT",
		example: `fairway deploy no-rollback 1 --reason "probe bug; service healthy" --as olivia`,
		setup: func(fs *flag.FlagSet) runFunc {
			reason := fs.String("reason", "", "why the run is not rolled back (required)")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 1, "RUN")
				if err != nil {
					return err
				}
				id, err := runNumber(pos[0])
				if err != nil {
					return err
				}
				r, err := svc.DecideNoRollback(ctx, id, *reason)
				if err != nil {
					return err
				}
				return a.output(r, func(w io.Writer) { printDeployRun(w, r) })
			}
		},
	})
	register(&command{
		name: "deploy list", summary: "List deploy-runs", args: "[--task KEY] [--env ENV]",
		example: `fairway deploy list --task OPS-FIX-001`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "only this task's runs")
			env := fs.String("env", "", "only runs in this environment")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				list, err := svc.ListDeployRuns(ctx, fairway.DeployFilter{Task: *task, Environment: *env})
				if err != nil {
					return err
				}
				return a.output(list, func(w io.Writer) {
					if len(list) == 0 {
						fmt.Fprintln(w, "no deploy-runs")
						return
					}
					fmt.Fprintf(w, "%-5s %-32s %-12s %-10s %-10s %s\n", "RUN", "TASK", "ENV", "COMMIT", "STATE", "STAGES")
					for _, r := range list {
						var st []string
						for _, s := range r.Stages {
							if s.Status != fairway.StagePending {
								st = append(st, s.Name+":"+s.Status)
							}
						}
						commit := r.Commit
						if len(commit) > 10 {
							commit = commit[:10]
						}
						fmt.Fprintf(w, "%-5d %-32s %-12s %-10s %-10s %s\n", r.ID, r.Task, r.Environment, commit, r.State, joinOrDash(st))
					}
				})
			}
		},
	})
	register(&command{
		name: "deploy show", summary: "Show a deploy-run with its stages, evidence and who moved them", args: "RUN",
		example: `fairway deploy show 1`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "RUN")
			if err != nil {
				return err
			}
			id, err := runNumber(pos[0])
			if err != nil {
				return err
			}
			r, err := svc.GetDeployRun(ctx, id)
			if err != nil {
				return err
			}
			return a.output(r, func(w io.Writer) { printDeployRun(w, r) })
		}),
	})
}

func printPlan(w io.Writer, p *fairway.Plan) {
	if len(p.Waiting) == 0 {
		fmt.Fprintln(w, "no lane is waiting")
	}
	for _, l := range p.Waiting {
		fmt.Fprintf(w, "lane %s waits on %s\n", l.Lane, joinOrDash(l.WaitingOn))
		for _, h := range l.Held {
			fmt.Fprintf(w, "  %-32s %-10s waits on %s", h.Key, h.Status, orDash(h.WaitsOn))
			if len(h.Blockers) > 0 {
				fmt.Fprintf(w, " (%s)", strings.Join(h.Blockers, ", "))
			}
			fmt.Fprintln(w)
		}
		if more := l.HeldTotal - len(l.Held); more > 0 {
			fmt.Fprintf(w, "  … and %d more\n", more)
		}
	}
	if len(p.Safe) == 0 {
		fmt.Fprintln(w, "no safe fallback work is ready")
		return
	}
	fmt.Fprintln(w, "safe fallback work, most unblocking first:")
	for _, s := range p.Safe {
		what := s.Task.Key
		if s.Run != 0 {
			what = fmt.Sprintf("%s run %d", s.Task.Key, s.Run)
		}
		unblocks := fmt.Sprint(s.Unblocks)
		if p.UnblocksBound > 0 && s.Unblocks >= p.UnblocksBound {
			unblocks += "+"
		}
		fmt.Fprintf(w, "  %-8s %-32s unblocks %-4s %s\n    why safe: %s\n    do: %s\n", s.Kind, what, unblocks, oneLine(s.Task.Title), s.Why, s.Action)
	}
}
