package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"fairway"
)

func laneStateText(s *fairway.LaneState) string {
	if s.State == fairway.LaneWaiting {
		return "waiting on " + strings.Join(s.WaitingOn, ", ")
	}
	return s.State
}

func init() {
	register(&command{
		name: "lane create", summary: "Create a lane of work", args: "NAME [--prefix KEY-PREFIX] [--description TEXT]",
		example: `fairway lane create closeout --prefix OPS-FIX --description "GPUaaS closeout program" --as alice`,
		setup: func(fs *flag.FlagSet) runFunc {
			var in fairway.LaneCreate
			fs.StringVar(&in.KeyPrefix, "prefix", "", "key prefix for generated task keys, e.g. OPS-FIX")
			fs.StringVar(&in.Description, "description", "", "what the lane is for")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 1, "NAME")
				if err != nil {
					return err
				}
				in.Name = pos[0]
				l, err := svc.CreateLane(ctx, in)
				if err != nil {
					return err
				}
				return a.output(l, func(w io.Writer) { fmt.Fprintf(w, "created lane %s\n", l.Name) })
			}
		},
	})
	register(&command{
		name: "lane list", summary: "List lanes: moving, or waiting and on what", args: "",
		example: `fairway lane list`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 0, "no arguments")
			if err != nil {
				return err
			}
			lanes, err := svc.ListLanes(ctx)
			if err != nil {
				return err
			}
			return a.output(lanes, func(w io.Writer) {
				if len(lanes) == 0 {
					fmt.Fprintln(w, "no lanes")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "LANE\tPREFIX\tSTATE\tREADY\tOPEN\tIN PROGRESS\tBLOCKED\tIN REVIEW\tDONE")
				for _, l := range lanes {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", l.Name, orDash(l.KeyPrefix), laneStateText(l), l.Ready,
						l.Counts[fairway.StatusOpen], l.Counts[fairway.StatusInProgress], l.Counts[fairway.StatusBlocked],
						l.Counts[fairway.StatusInReview], l.Counts[fairway.StatusDone])
				}
				tw.Flush()
			})
		}),
	})
	register(&command{
		name: "lane show", summary: "Show a lane and its state", args: "NAME",
		example: `fairway lane show closeout --json`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "NAME")
			if err != nil {
				return err
			}
			l, err := svc.GetLane(ctx, pos[0])
			if err != nil {
				return err
			}
			return a.output(l, func(w io.Writer) {
				fmt.Fprintf(w, "%s  %s\n", l.Name, laneStateText(l))
				if l.Description != "" {
					fmt.Fprintf(w, "  %s\n", oneLine(l.Description))
				}
				fmt.Fprintf(w, "  key prefix: %s\n  ready: %d\n", orDash(l.KeyPrefix), l.Ready)
				for _, st := range fairway.Statuses {
					if n := l.Counts[st]; n > 0 {
						fmt.Fprintf(w, "  %s: %d\n", st, n)
					}
				}
			})
		}),
	})
}
