package main

import (
	"flag"
	"fmt"
	"io"

	"fairway"
	"fairway/ledger"
)

// taskFields are the flags that set a task's fields. Each knows whether
// it was given, so `task update` changes only those.
type taskFields struct {
	title, scope, owner, risk                            *optional[string]
	priority                                             *optional[int]
	mutating                                             *optional[bool]
	surfaces, classes, contracts, paths, domains, labels *listFlag
}

// bindTaskFields defines the field flags; priority is the default help
// shows (0 for an update, where an absent flag changes nothing).
func bindTaskFields(fs *flag.FlagSet, priority int) *taskFields {
	return &taskFields{
		title:     optString(fs, "title", "one-line title"),
		scope:     optString(fs, "scope", "scope statement: what the task may change"),
		surfaces:  listVar(fs, "surface", "`SURFACE` the task touches (repeatable)"),
		classes:   listVar(fs, "change-class", "`CLASS` of change, e.g. edge-dns or production-deploy (repeatable)"),
		contracts: listVar(fs, "contract", "`CONTRACT` touched, e.g. route:/v1/allocations (repeatable)"),
		paths:     listVar(fs, "path", "code `PATH` glob touched (repeatable)"),
		owner:     optString(fs, "owner", "owning actor"),
		risk:      optString(fs, "risk", "low, medium, high or critical"),
		priority:  optInt(fs, "priority", priority, "0 (most urgent) to 4"),
		domains:   listVar(fs, "domain", "review `DOMAIN` that must approve (repeatable)"),
		mutating:  optBool(fs, "mutating", "the task changes a live system"),
		labels:    listVar(fs, "label", "`LABEL` (repeatable)"),
	}
}

func (f *taskFields) scopeValue() fairway.Scope {
	return fairway.Scope{
		Text: f.scope.value(), Surfaces: f.surfaces.vals, ChangeClasses: f.classes.vals,
		Contracts: f.contracts.vals, Paths: f.paths.vals,
	}
}

func init() {
	register(&command{
		name: "task create", summary: "Create a task", args: "[KEY] --title TEXT [flags]",
		example: `fairway task create OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001 \
    --title "Restore compute-vm-small capacity in local-maas-lxd" \
    --owner alice --risk high --priority 1 --domain ops --mutating --as alice
fairway task create --lane closeout --title "Update runbooks" --as alice   # key from the lane prefix`,
		setup: func(fs *flag.FlagSet) runFunc {
			f := bindTaskFields(fs, ledger.DefaultPriority)
			lane := fs.String("lane", "", "lane; its key prefix generates KEY when none is given")
			return func(a *app, pos []string) error {
				if len(pos) > 1 {
					return usagef("want at most one KEY, got %d arguments", len(pos))
				}
				c := fairway.TaskCreate{
					Title: f.title.value(), Scope: f.scopeValue(), Lane: *lane,
					Owner: f.owner.value(), Risk: f.risk.value(), ReviewDomains: f.domains.vals,
					Mutating: f.mutating.value(), Labels: f.labels.vals, Priority: f.priority.given(),
				}
				if len(pos) == 1 {
					c.Key = pos[0]
				}
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				t, err := svc.CreateTask(ctx, c)
				if err != nil {
					return err
				}
				return a.output(t, func(w io.Writer) { fmt.Fprintf(w, "created %s\n", t.Key) })
			}
		},
	})
	register(&command{
		name: "task show", summary: "Show one task, its dependencies, evidence, claims, reviews and gate", args: "KEY|--task KEY",
		example: `fairway task show OPS-FIX-001
fairway task show OPS-FIX-001 --json          # the task alone
fairway task show OPS-FIX-001 --json --full   # with dependencies, evidence, claims, reviews and the gate`,
		setup: func(fs *flag.FlagSet) runFunc {
			showFull := fs.Bool("full", false, "with --json: include dependencies, evidence, claims, reviews and the gate decision")
			task := fs.String("task", "", "the task (or KEY as the argument)")
			return func(a *app, pos []string) error {
				key, err := taskArg(pos, *task, 0)
				if err != nil {
					return err
				}
				pos = []string{key}
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				if a.json && !*showFull {
					t, err := svc.GetTask(ctx, pos[0])
					if err != nil {
						return err
					}
					return a.printJSON(t)
				}
				full, err := svc.TaskView(ctx, pos[0])
				if err != nil {
					return err
				}
				return a.output(full, func(w io.Writer) {
					// The next session reads the handoff before anything else.
					if h := latestHandoff(full.Sessions); h != nil {
						fmt.Fprintf(w, "handoff from %s (%s, %s, %s):\n    %s\n\n", h.ID, h.Actor, oneLine(h.Provider), fmtTime(h.EndedAt), indent(h.Handoff))
					}
					printTask(w, full.Task, taskRecord(full)...)
				})
			}
		},
	})
	register(&command{
		name: "task list", summary: "List tasks", args: "[--lane L] [--status S] [--owner A]",
		example: `fairway task list --status blocked
fairway task list --lane closeout --json`,
		setup: func(fs *flag.FlagSet) runFunc {
			var f fairway.TaskFilter
			fs.StringVar(&f.Lane, "lane", "", "only this lane")
			fs.StringVar(&f.Status, "status", "", "only this status")
			fs.StringVar(&f.Owner, "owner", "", "only this owner")
			fs.IntVar(&f.Limit, "limit", 0, "at most this many (0: all)")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				tasks, err := svc.ListTasks(ctx, f)
				if err != nil {
					return err
				}
				if tasks == nil {
					tasks = []*fairway.Task{}
				}
				return a.output(tasks, func(w io.Writer) { printTaskTable(w, tasks, "no tasks") })
			}
		},
	})
	register(&command{
		name: "task update", summary: "Change a task field by field; a change that removes a gate requirement is a narrowing", args: "KEY [flags]",
		example: `fairway task update OPS-FIX-001 --risk critical --domain security --as alice      # adds security to the domains
fairway task update OPS-FIX-001 --scope "Rotate the tunnel credentials" --as alice     # the text only; surfaces and classes stay
fairway task update OPS-FIX-001 --remove-surface edge --propose-narrowing --as alice  # removes requirements: needs the losing domain's approval`,
		setup: func(fs *flag.FlagSet) runFunc {
			f := bindTaskFields(fs, 0)
			fs.Lookup("scope").Usage = "replace the scope's text only (surfaces, classes, contracts and paths stay)"
			fs.Lookup("surface").Usage = "add a `SURFACE` (repeatable)"
			fs.Lookup("change-class").Usage = "add a change `CLASS` (repeatable)"
			fs.Lookup("contract").Usage = "add a `CONTRACT` (repeatable)"
			fs.Lookup("path").Usage = "add a code `PATH` glob (repeatable)"
			fs.Lookup("domain").Usage = "add a review `DOMAIN` (repeatable)"
			fs.Lookup("label").Usage = "add a `LABEL` (repeatable)"
			rmSurfaces := listVar(fs, "remove-surface", "remove a `SURFACE` (repeatable)")
			rmClasses := listVar(fs, "remove-change-class", "remove a change `CLASS` (repeatable)")
			rmContracts := listVar(fs, "remove-contract", "remove a `CONTRACT` (repeatable)")
			rmPaths := listVar(fs, "remove-path", "remove a `PATH` (repeatable)")
			rmDomains := listVar(fs, "remove-domain", "remove a review `DOMAIN` (repeatable)")
			rmLabels := listVar(fs, "remove-label", "remove a `LABEL` (repeatable)")
			rmDeps := listVar(fs, "remove-dep", "stop waiting on task `KEY` (repeatable); a narrowing unless KEY is done")
			replace := fs.Bool("replace-scope", false, "the scope flags replace the whole scope instead of adding to it")
			narrow := fs.Bool("propose-narrowing", false, "propose a change that removes gate requirements; it applies once each losing domain approves")
			return func(a *app, pos []string) error {
				if err := wantArgs(pos, 1, "KEY"); err != nil {
					return err
				}
				// Only the flags given change the task; lists are added to
				// or removed from.
				u := fairway.TaskUpdate{
					Title: f.title.given(), Owner: f.owner.given(), Risk: f.risk.given(),
					Priority: f.priority.given(), Mutating: f.mutating.given(),
					AddReviewDomains: f.domains.vals, RemoveReviewDomains: rmDomains.vals,
					AddLabels: f.labels.vals, RemoveLabels: rmLabels.vals, RemoveBlockers: rmDeps.vals,
					RemoveScope: fairway.Scope{Surfaces: rmSurfaces.vals, ChangeClasses: rmClasses.vals, Contracts: rmContracts.vals, Paths: rmPaths.vals},
				}
				if *replace {
					s := f.scopeValue()
					u.ReplaceScope = &s
				} else {
					u.ScopeText = f.scope.given()
					u.AddScope = f.scopeValue()
					u.AddScope.Text = ""
				}
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				if *narrow {
					n, err := svc.ProposeNarrowing(ctx, pos[0], u)
					if err != nil {
						return err
					}
					return a.output(n, func(w io.Writer) { printNarrowing(w, n) })
				}
				t, err := svc.UpdateTask(ctx, pos[0], u)
				if err != nil {
					return err
				}
				return a.output(t, func(w io.Writer) { fmt.Fprintf(w, "updated %s\n", t.Key) })
			}
		},
	})
	register(&command{
		name: "task move", summary: "Move a task to open, in_progress, blocked or in_review", args: "KEY|--task KEY STATUS [--wait-reason R] [--note TEXT]",
		example: `fairway task move OPS-FIX-001 in_progress --as codex
fairway task move OPS-FIX-001 blocked --wait-reason capacity --note "compute-vm-small unschedulable" --as alice`,
		setup: func(fs *flag.FlagSet) runFunc {
			var tr fairway.Transition
			fs.StringVar(&tr.WaitReason, "wait-reason", "", "for blocked: dependency, reviewer, credentials, export, approval-window or capacity")
			fs.StringVar(&tr.Note, "note", "", "why, for the audit log")
			task := fs.String("task", "", "the task (or KEY as the first argument)")
			return func(a *app, pos []string) error {
				key, rest, err := leadingTask(pos, *task)
				if err != nil {
					return err
				}
				pos = append([]string{key}, rest...)
				svc, ctx, err := a.service(pos, 2, "KEY STATUS")
				if err != nil {
					return err
				}
				tr.Status = pos[1]
				t, err := svc.TransitionTask(ctx, pos[0], tr)
				if err != nil {
					return err
				}
				return a.output(t, func(w io.Writer) { fmt.Fprintf(w, "%s is %s\n", t.Key, statusText(t)) })
			}
		},
	})
	register(&command{
		name: "task close", summary: "Close a task through its gate (humans only)", args: "KEY [--acknowledge EVIDENCE-ID]",
		example: `fairway gate explain OPS-FIX-001   # see what is still unsatisfied
fairway task close OPS-FIX-001 --as alice
fairway task close OPS-FIX-001 --acknowledge EV-12 --as alice   # its latest smoke fails, and alice has looked`,
		setup: func(fs *flag.FlagSet) runFunc {
			ack := listVar(fs, "acknowledge", "ID of failing latest evidence the closer has looked at (repeatable or comma-separated); every failing one must be named")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 1, "KEY")
				if err != nil {
					return err
				}
				d, err := svc.CloseTask(ctx, pos[0], ack.vals...)
				if d != nil {
					if a.json {
						a.printJSON(d)
					} else {
						a.printHuman(func(w io.Writer) {
							printDecision(w, d)
							if err == nil {
								fmt.Fprintf(w, "closed %s\n", d.Task)
							}
						})
					}
				}
				return err
			}
		},
	})
	register(&command{
		name: "task cancel", summary: "Cancel a task, with a reason (humans only)", args: "KEY --reason TEXT",
		example: `fairway task cancel OPS-FIX-007 --reason "superseded by OPS-FIX-009" --as alice`,
		setup: func(fs *flag.FlagSet) runFunc {
			reason := fs.String("reason", "", "why the task is cancelled (required)")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 1, "KEY")
				if err != nil {
					return err
				}
				t, err := svc.CancelTask(ctx, pos[0], *reason)
				if err != nil {
					return err
				}
				return a.output(t, func(w io.Writer) { fmt.Fprintf(w, "cancelled %s\n", t.Key) })
			}
		},
	})
	register(&command{
		name: "gate explain", summary: "List every requirement of a task's gate and its state", args: "KEY|--task KEY",
		example: `fairway gate explain OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001`,
		setup: withTask(func(a *app, key string) error {
			svc, ctx, err := a.connect()
			if err != nil {
				return err
			}
			d, err := svc.ExplainGate(ctx, key)
			if err != nil {
				return err
			}
			return a.output(d, func(w io.Writer) { printDecision(w, d) })
		}),
	})
	register(&command{
		name: "next", summary: "List what can be worked on now, most urgent first", args: "[--lane L] [--limit N] [--mine | --owner NAME | --safe]",
		example: `fairway next
fairway next --mine --as codex   # ready work you own; start it with fairway task take KEY
fairway next --safe          # plan: waiting lanes, and the safe fallback work meanwhile
fairway next --lane kind-uat # when the lane waits: what holds it, and safe work with why (JSON: the plan)
fairway next --lane safe-work --json`,
		setup: func(fs *flag.FlagSet) runFunc {
			var f fairway.NextFilter
			fs.StringVar(&f.Lane, "lane", "", "only this lane")
			fs.IntVar(&f.Limit, "limit", fairway.DefaultNextLimit, "at most this many")
			fs.BoolVar(&f.SafeOnly, "safe", false, "plan: each waiting lane with what holds it, and the safe fallback work (labelled, not mutating, no protected change class) ranked by what it unblocks; --lane narrows the waiting lanes")
			fs.StringVar(&f.Owner, "owner", "", "only ready tasks this actor owns")
			mine := fs.Bool("mine", false, "only ready tasks you own (start one with `fairway task take KEY`)")
			return func(a *app, pos []string) error {
				if *mine && f.Owner != "" {
					return usagef("give --mine or --owner NAME, not both")
				}
				if f.SafeOnly && (*mine || f.Owner != "") {
					return usagef("--safe plans work nobody has to own; use --mine or --owner without it")
				}
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				if *mine {
					me, err := svc.Whoami(ctx)
					if err != nil {
						return err
					}
					f.Owner = me.Name
				}
				if f.SafeOnly {
					plan, err := svc.Plan(ctx, fairway.PlanFilter{Lane: f.Lane, Limit: f.Limit})
					if err != nil {
						return err
					}
					return a.output(plan, func(w io.Writer) { printPlan(w, plan) })
				}
				tasks, err := svc.Next(ctx, f)
				if err != nil {
					return err
				}
				empty := "nothing is ready: no open task has all its dependencies done"
				if f.Owner != "" {
					empty = "nothing owned by " + f.Owner + " is ready; see `fairway next --safe` for safe fallback work"
				}
				if len(tasks) == 0 && f.Owner == "" {
					// The asked-for lane waits: plan what is safe meanwhile.
					// With no policy in force nothing says what is safe.
					plan, err := svc.Plan(ctx, fairway.PlanFilter{Lane: f.Lane, Limit: f.Limit})
					if fairway.ErrorCode(err) == fairway.ECONFLICT {
						return a.output(tasks, func(w io.Writer) { printTaskTable(w, tasks, empty) })
					}
					if err != nil {
						return err
					}
					return a.output(plan, func(w io.Writer) {
						fmt.Fprintln(w, empty)
						printPlan(w, plan)
					})
				}
				return a.output(tasks, func(w io.Writer) { printTaskTable(w, tasks, empty) })
			}
		},
	})
}
