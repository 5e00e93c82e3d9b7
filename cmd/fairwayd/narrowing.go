package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"fairway"
)

func printNarrowing(w io.Writer, n *fairway.Narrowing) {
	fmt.Fprintf(w, "narrowing %d of %s, proposed by %s: %s\n", n.ID, n.Task, n.ProposedBy, n.State)
	// The whole edit, not only what it removes: approvers apply all of it.
	for _, e := range describeUpdate(n.Update) {
		fmt.Fprintf(w, "  edit: %s\n", oneLine(e))
	}
	for _, r := range n.Removes {
		fmt.Fprintf(w, "  removes %s (%s); owned by %s\n", r.Requirement, oneLine(r.Because), r.Domain)
	}
	for _, a := range n.Approvals {
		fmt.Fprintf(w, "  approved for %s by %s\n", a.Domain, a.By)
	}
	if p := n.Pending(); len(p) > 0 && n.State == fairway.NarrowingPending {
		fmt.Fprintf(w, "  awaits a member of %s: `fairway narrowing approve %d`\n", strings.Join(p, ", "), n.ID)
	}
}

func init() {
	register(&command{
		name: "narrowing list", summary: "List proposed and applied narrowings of task gates", args: "[--task KEY]",
		example: `fairway narrowing list --task OPS-EDGE-TUNNEL-001`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "only this task's narrowings")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				list, err := svc.ListNarrowings(ctx, *task)
				if err != nil {
					return err
				}
				return a.output(list, func(w io.Writer) {
					if len(list) == 0 {
						fmt.Fprintln(w, "no narrowings")
					}
					for _, n := range list {
						printNarrowing(w, n)
					}
				})
			}
		},
	})
	register(&command{
		name: "narrowing approve", summary: "Approve a narrowing for the review domains you belong to (humans only)", args: "ID",
		example: `fairway narrowing approve 1 --as sergei`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "ID")
			if err != nil {
				return err
			}
			id, err := strconv.ParseInt(pos[0], 10, 64)
			if err != nil {
				return usagef("%q is not a narrowing number", pos[0])
			}
			n, err := svc.ApproveNarrowing(ctx, id)
			if err != nil {
				return err
			}
			return a.output(n, func(w io.Writer) { printNarrowing(w, n) })
		}),
	})
}

// describeUpdate lists every change an update makes, one per line.
func describeUpdate(u fairway.TaskUpdate) []string {
	var out []string
	set := func(name string, v *string) {
		if v != nil {
			out = append(out, fmt.Sprintf("%s := %q", name, *v))
		}
	}
	set("title", u.Title)
	set("scope text", u.ScopeText)
	set("owner", u.Owner)
	set("risk", u.Risk)
	if u.Priority != nil {
		out = append(out, fmt.Sprintf("priority := %d", *u.Priority))
	}
	if u.Mutating != nil {
		out = append(out, fmt.Sprintf("mutating := %t", *u.Mutating))
	}
	if u.ReplaceScope != nil {
		out = append(out, fmt.Sprintf("scope replaced: surfaces %v, change classes %v, contracts %v, paths %v",
			u.ReplaceScope.Surfaces, u.ReplaceScope.ChangeClasses, u.ReplaceScope.Contracts, u.ReplaceScope.Paths))
	}
	list := func(verb, what string, items []string) {
		if len(items) > 0 {
			if what != "" {
				verb += " " + what
			}
			out = append(out, verb+" "+strings.Join(items, ", "))
		}
	}
	list("add", "surfaces", u.AddScope.Surfaces)
	list("add", "change classes", u.AddScope.ChangeClasses)
	list("add", "contracts", u.AddScope.Contracts)
	list("add", "paths", u.AddScope.Paths)
	list("remove", "surfaces", u.RemoveScope.Surfaces)
	list("remove", "change classes", u.RemoveScope.ChangeClasses)
	list("remove", "contracts", u.RemoveScope.Contracts)
	list("remove", "paths", u.RemoveScope.Paths)
	list("add", "review domains", u.AddReviewDomains)
	list("remove", "review domains", u.RemoveReviewDomains)
	list("add", "labels", u.AddLabels)
	list("remove", "labels", u.RemoveLabels)
	list("stop waiting on", "", u.RemoveBlockers)
	return out
}
