package main

import (
	"flag"
	"fmt"
	"io"

	"fairway"
)

func taskFieldFlags(fs *flag.FlagSet) {
	fs.String("title", "", "one-line title")
	fs.String("scope", "", "scope statement: what the task may change")
	listVar(fs, "surface", "`SURFACE` the task touches (repeatable)")
	listVar(fs, "change-class", "`CLASS` of change, e.g. edge-dns or production-deploy (repeatable)")
	listVar(fs, "contract", "`CONTRACT` touched, e.g. route:/v1/allocations (repeatable)")
	listVar(fs, "path", "code `PATH` glob touched (repeatable)")
	fs.String("owner", "", "owning actor")
	fs.String("risk", "", "low, medium, high or critical")
	fs.Int("priority", 2, "0 (most urgent) to 4")
	listVar(fs, "domain", "review `DOMAIN` that must approve (repeatable)")
	fs.Bool("mutating", false, "the task changes a live system")
	listVar(fs, "label", "`LABEL` (repeatable)")
}

func scopeFromFlags(fs *flag.FlagSet) fairway.Scope {
	return fairway.Scope{
		Text: getString(fs, "scope"), Surfaces: getList(fs, "surface"), ChangeClasses: getList(fs, "change-class"),
		Contracts: getList(fs, "contract"), Paths: getList(fs, "path"),
	}
}

func init() {
	register(&command{
		name: "task create", summary: "Create a task", args: "[KEY] --title TEXT [flags]",
		example: `fairway task create OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001 \
    --title "Restore compute-vm-small capacity in local-maas-lxd" \
    --owner alice --risk high --priority 1 --domain ops --mutating --as alice
fairway task create --lane closeout --title "Update runbooks" --as alice   # key from the lane prefix`,
		flags: func(fs *flag.FlagSet) {
			taskFieldFlags(fs)
			fs.String("lane", "", "lane; its key prefix generates KEY when none is given")
		},
		run: func(a *app, fs *flag.FlagSet, pos []string) error {
			if len(pos) > 1 {
				return usagef("want at most one KEY, got %d arguments", len(pos))
			}
			c := fairway.TaskCreate{
				Title: getString(fs, "title"), Scope: scopeFromFlags(fs), Lane: getString(fs, "lane"),
				Owner: getString(fs, "owner"), Risk: getString(fs, "risk"), ReviewDomains: getList(fs, "domain"),
				Mutating: getBool(fs, "mutating"), Labels: getList(fs, "label"),
			}
			if len(pos) == 1 {
				c.Key = pos[0]
			}
			if isSet(fs, "priority") {
				p := getInt(fs, "priority")
				c.Priority = &p
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
		},
	})
	register(&command{
		name: "task show", summary: "Show one task, its dependencies, evidence, claims, reviews and gate", args: "KEY",
		example: `fairway task show OPS-FIX-001
fairway task show OPS-FIX-001 --json          # the task alone
fairway task show OPS-FIX-001 --json --full   # with dependencies, evidence, claims, reviews and the gate`,
		flags: func(fs *flag.FlagSet) {
			fs.Bool("full", false, "with --json: include dependencies, evidence, claims, reviews and the gate decision")
		},
		run: func(a *app, fs *flag.FlagSet, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "KEY")
			if err != nil {
				return err
			}
			t, err := svc.GetTask(ctx, pos[0])
			if err != nil {
				return err
			}
			if a.json && !getBool(fs, "full") {
				return a.printJSON(t)
			}
			full, err := fullTask(svc, ctx, t)
			if err != nil {
				return err
			}
			return a.output(full, func(w io.Writer) { printTask(w, t, taskRecord(full)...) })
		},
	})
	register(&command{
		name: "task list", summary: "List tasks", args: "[--lane L] [--status S] [--owner A]",
		example: `fairway task list --status blocked
fairway task list --lane closeout --json`,
		flags: func(fs *flag.FlagSet) {
			fs.String("lane", "", "only this lane")
			fs.String("status", "", "only this status")
			fs.String("owner", "", "only this owner")
			fs.Int("limit", 0, "at most this many (0: all)")
		},
		run: func(a *app, fs *flag.FlagSet, pos []string) error {
			svc, ctx, err := a.service(pos, 0, "no arguments")
			if err != nil {
				return err
			}
			tasks, err := svc.ListTasks(ctx, fairway.TaskFilter{Lane: getString(fs, "lane"), Status: getString(fs, "status"), Owner: getString(fs, "owner"), Limit: getInt(fs, "limit")})
			if err != nil {
				return err
			}
			if tasks == nil {
				tasks = []*fairway.Task{}
			}
			return a.output(tasks, func(w io.Writer) { printTaskTable(w, tasks, "no tasks") })
		},
	})
	register(&command{
		name: "task update", summary: "Change a task field by field; a change that removes a gate requirement is a narrowing", args: "KEY [flags]",
		example: `fairway task update OPS-FIX-001 --risk critical --domain security --as alice      # adds security to the domains
fairway task update OPS-FIX-001 --scope "Rotate the tunnel credentials" --as alice     # the text only; surfaces and classes stay
fairway task update OPS-FIX-001 --remove-surface edge --propose-narrowing --as alice  # removes requirements: needs the losing domain's approval`,
		flags: func(fs *flag.FlagSet) {
			taskFieldFlags(fs)
			fs.Lookup("scope").Usage = "replace the scope's text only (surfaces, classes, contracts and paths stay)"
			fs.Lookup("domain").Usage = "add a review `DOMAIN` (repeatable)"
			fs.Lookup("label").Usage = "add a `LABEL` (repeatable)"
			listVar(fs, "remove-surface", "remove a `SURFACE` (repeatable)")
			listVar(fs, "remove-change-class", "remove a change `CLASS` (repeatable)")
			listVar(fs, "remove-contract", "remove a `CONTRACT` (repeatable)")
			listVar(fs, "remove-path", "remove a `PATH` (repeatable)")
			listVar(fs, "remove-domain", "remove a review `DOMAIN` (repeatable)")
			listVar(fs, "remove-label", "remove a `LABEL` (repeatable)")
			fs.Bool("replace-scope", false, "the scope flags replace the whole scope instead of adding to it")
			fs.Bool("propose-narrowing", false, "propose a change that removes gate requirements; it applies once each losing domain approves")
		},
		run: func(a *app, fs *flag.FlagSet, pos []string) error {
			if err := wantArgs(pos, 1, "KEY"); err != nil {
				return err
			}
			// Only the flags given change the task.
			u := fairway.TaskUpdate{
				Title: given(fs, "title", getString), Owner: given(fs, "owner", getString), Risk: given(fs, "risk", getString),
				Priority: given(fs, "priority", getInt), Mutating: given(fs, "mutating", getBool),
				AddReviewDomains: getList(fs, "domain"), RemoveReviewDomains: getList(fs, "remove-domain"),
				AddLabels: getList(fs, "label"), RemoveLabels: getList(fs, "remove-label"),
				RemoveScope: fairway.Scope{Surfaces: getList(fs, "remove-surface"), ChangeClasses: getList(fs, "remove-change-class"),
					Contracts: getList(fs, "remove-contract"), Paths: getList(fs, "remove-path")},
			}
			if getBool(fs, "replace-scope") {
				s := scopeFromFlags(fs)
				u.ReplaceScope = &s
			} else {
				u.ScopeText = given(fs, "scope", getString)
				u.AddScope = scopeFromFlags(fs)
				u.AddScope.Text = ""
			}
			svc, ctx, err := a.connect()
			if err != nil {
				return err
			}
			if getBool(fs, "propose-narrowing") {
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
		},
	})
	register(&command{
		name: "task move", summary: "Move a task to open, in_progress, blocked or in_review", args: "KEY STATUS [--wait-reason R] [--note TEXT]",
		example: `fairway task move OPS-FIX-001 in_progress --as codex
fairway task move OPS-FIX-001 blocked --wait-reason capacity --note "compute-vm-small unschedulable" --as alice`,
		flags: func(fs *flag.FlagSet) {
			fs.String("wait-reason", "", "for blocked: dependency, reviewer, credentials, export, approval-window or capacity")
			fs.String("note", "", "why, for the audit log")
		},
		run: func(a *app, fs *flag.FlagSet, pos []string) error {
			svc, ctx, err := a.service(pos, 2, "KEY STATUS")
			if err != nil {
				return err
			}
			t, err := svc.TransitionTask(ctx, pos[0], fairway.Transition{Status: pos[1], WaitReason: getString(fs, "wait-reason"), Note: getString(fs, "note")})
			if err != nil {
				return err
			}
			return a.output(t, func(w io.Writer) { fmt.Fprintf(w, "%s is %s\n", t.Key, statusText(t)) })
		},
	})
	register(&command{
		name: "task close", summary: "Close a task through its gate (humans only)", args: "KEY",
		example: `fairway gate explain OPS-FIX-001   # see what is still unsatisfied
fairway task close OPS-FIX-001 --as alice`,
		run: func(a *app, fs *flag.FlagSet, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "KEY")
			if err != nil {
				return err
			}
			d, err := svc.CloseTask(ctx, pos[0])
			if d != nil {
				if a.json {
					a.printJSON(d)
				} else {
					printDecision(a.stdout, d)
					if err == nil {
						fmt.Fprintf(a.stdout, "closed %s\n", d.Task)
					}
				}
			}
			return err
		},
	})
	register(&command{
		name: "task cancel", summary: "Cancel a task, with a reason (humans only)", args: "KEY --reason TEXT",
		example: `fairway task cancel OPS-FIX-007 --reason "superseded by OPS-FIX-009" --as alice`,
		flags:   func(fs *flag.FlagSet) { fs.String("reason", "", "why the task is cancelled (required)") },
		run: func(a *app, fs *flag.FlagSet, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "KEY")
			if err != nil {
				return err
			}
			t, err := svc.CancelTask(ctx, pos[0], getString(fs, "reason"))
			if err != nil {
				return err
			}
			return a.output(t, func(w io.Writer) { fmt.Fprintf(w, "cancelled %s\n", t.Key) })
		},
	})
	register(&command{
		name: "gate explain", summary: "List every requirement of a task's gate and its state", args: "KEY",
		example: `fairway gate explain OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001`,
		run: func(a *app, fs *flag.FlagSet, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "KEY")
			if err != nil {
				return err
			}
			d, err := svc.ExplainGate(ctx, pos[0])
			if err != nil {
				return err
			}
			return a.output(d, func(w io.Writer) { printDecision(w, d) })
		},
	})
	register(&command{
		name: "next", summary: "List what can be worked on now, most urgent first", args: "[--lane L] [--limit N]",
		example: `fairway next
fairway next --safe          # only safe fallback work: what can move while other lanes wait
fairway next --lane safe-work --json`,
		flags: func(fs *flag.FlagSet) {
			fs.String("lane", "", "only this lane")
			fs.Int("limit", fairway.DefaultNextLimit, "at most this many")
			fs.Bool("safe", false, "only work the policy counts as safe fallback (labelled, not mutating, no protected change class)")
		},
		run: func(a *app, fs *flag.FlagSet, pos []string) error {
			svc, ctx, err := a.service(pos, 0, "no arguments")
			if err != nil {
				return err
			}
			tasks, err := svc.Next(ctx, fairway.NextFilter{Lane: getString(fs, "lane"), Limit: getInt(fs, "limit"), SafeOnly: getBool(fs, "safe")})
			if err != nil {
				return err
			}
			return a.output(tasks, func(w io.Writer) { printTaskTable(w, tasks, "nothing is ready: every open task waits on a dependency") })
		},
	})
}
