package main

import (
	"context"
	"fmt"
	"io"

	"fairway"
)

func init() {
	register(&command{
		name: "dep add", summary: "Record that BLOCKER must be done before TASK", args: "TASK BLOCKER",
		example: `fairway dep add OPS-UAT-KIND-FULL-001 OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001 --as alice`,
		setup: noFlags(func(a *app, pos []string) error {
			return changeDependency(a, pos, fairway.Service.AddDependency, "%s now waits on %s\n")
		}),
	})
	register(&command{
		name: "dep remove", summary: "Remove a dependency", args: "TASK BLOCKER",
		example: `fairway dep remove OPS-UAT-KIND-FULL-001 OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001 --as alice`,
		setup: noFlags(func(a *app, pos []string) error {
			return changeDependency(a, pos, fairway.Service.RemoveDependency, "%s no longer waits on %s\n")
		}),
	})
	register(&command{
		name: "dep list", summary: "Show what a task waits on and what waits on it", args: "TASK",
		example: `fairway dep list OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "TASK")
			if err != nil {
				return err
			}
			d, err := svc.Dependencies(ctx, pos[0])
			if err != nil {
				return err
			}
			return a.output(d, func(w io.Writer) {
				fmt.Fprintf(w, "%s waits on:\n", d.Key)
				printDepList(w, d.BlockedBy)
				fmt.Fprintf(w, "waiting on %s:\n", d.Key)
				printDepList(w, d.Blocks)
			})
		}),
	})
}

func printDepList(w io.Writer, tasks []*fairway.Task) {
	if len(tasks) == 0 {
		fmt.Fprintln(w, "  nothing")
	}
	for _, t := range tasks {
		fmt.Fprintf(w, "  %s  %s  %s\n", t.Key, statusText(t), oneLine(t.Title))
	}
}

// changeDependency adds or removes the edge TASK ← BLOCKER.
func changeDependency(a *app, pos []string, change func(fairway.Service, context.Context, string, string) error, done string) error {
	svc, ctx, err := a.service(pos, 2, "TASK BLOCKER")
	if err != nil {
		return err
	}
	if err := change(svc, ctx, pos[0], pos[1]); err != nil {
		return err
	}
	return a.output(map[string]string{"blocked": pos[0], "blocker": pos[1]}, func(w io.Writer) { fmt.Fprintf(w, done, pos[0], pos[1]) })
}
