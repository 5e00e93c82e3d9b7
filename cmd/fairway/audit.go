package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"fairway"
)

func init() {
	register(&command{
		name: "audit log", summary: "Print the audit log, oldest first", args: "[--after SEQ] [--subject KEY] [--limit N]",
		example: `fairway audit log --subject OPS-FIX-001
fairway audit log --after 120 --limit 50 --json
fairway audit log --follow          # keep printing changes as they happen (Ctrl-C to stop)`,
		setup: func(fs *flag.FlagSet) runFunc {
			var filter fairway.AuditFilter
			fs.Int64Var(&filter.AfterSeq, "after", 0, "only events after this sequence number")
			fs.StringVar(&filter.Subject, "subject", "", "only events about this task, lane or actor")
			fs.IntVar(&filter.Limit, "limit", 100, "at most this many events")
			follow := fs.Bool("follow", false, "keep waiting for new events and print them as they come")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				if *follow {
					return followAudit(a, svc, ctx, filter)
				}
				events, err := svc.AuditLog(ctx, filter)
				if err != nil {
					return err
				}
				if events == nil {
					events = []*fairway.AuditEvent{}
				}
				return a.output(events, func(w io.Writer) {
					for _, e := range events {
						printAuditEvent(w, e)
					}
				})
			}
		},
	})
	register(&command{
		name: "audit verify", summary: "Recompute the audit hash chain and name the first bad event", args: "",
		example: `fairway audit verify && echo "audit chain intact"`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 0, "no arguments")
			if err != nil {
				return err
			}
			v, err := svc.VerifyAudit(ctx)
			if err != nil {
				return err
			}
			if err := a.output(v, func(w io.Writer) {
				if v.OK {
					fmt.Fprintf(w, "audit log intact: %d events, head %d %s\n", v.Events, v.Head.Seq, v.Head.Hash)
				} else {
					fmt.Fprintf(w, "audit log BROKEN at event %d: %s\n", v.FirstBadSeq, v.Problem)
				}
			}); err != nil {
				return err
			}
			if !v.OK {
				return fairway.Errorf(fairway.ECONFLICT, "the audit log does not verify (first bad event %d)", v.FirstBadSeq)
			}
			return nil
		}),
	})
}

func printAuditEvent(w io.Writer, e *fairway.AuditEvent) {
	fmt.Fprintf(w, "%6d  %s  %s (%s)  %s  %s  %s\n", e.Seq, fmtTime(e.At), e.Actor, e.ActorKind, e.Action, e.Subject, e.Change)
}

// followAudit prints events as they are appended, until the command is
// interrupted; the service's Watch delivers them in either mode. With
// --json each event is one line.
func followAudit(a *app, svc fairway.Service, ctx context.Context, f fairway.AuditFilter) error {
	return svc.Watch(ctx, f, func(e *fairway.AuditEvent) error {
		if a.json {
			b, _ := json.Marshal(e)
			fmt.Fprintln(a.stdout, string(b))
		} else {
			a.printHuman(func(w io.Writer) { printAuditEvent(w, e) })
		}
		return nil
	})
}
