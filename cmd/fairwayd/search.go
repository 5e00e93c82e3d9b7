package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"fairway"
)

func init() {
	register(&command{
		name: "search", summary: "Find tasks, claims, handoffs and evidence by their words, best first",
		args: "WORDS... [--kind task|claim|evidence|handoff] [--lane LANE] [--limit N]",
		example: `fairway search tunnel rollback
fairway search smoke --kind evidence --lane safe-work`,
		setup: func(fs *flag.FlagSet) runFunc {
			kind := fs.String("kind", "", "only hits of this kind: task, claim, evidence or handoff")
			lane := fs.String("lane", "", "only hits on tasks of this lane")
			limit := fs.Int("limit", 20, fmt.Sprintf("at most this many hits (1 to %d)", fairway.MaxSearchLimit))
			return func(a *app, pos []string) error {
				if len(pos) == 0 {
					return usagef("want WORDS to search for")
				}
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				hits, err := svc.Search(ctx, fairway.SearchQuery{Text: strings.Join(pos, " "), Kind: *kind, Lane: *lane, Limit: *limit})
				if err != nil {
					return err
				}
				return a.output(hits, func(w io.Writer) {
					if len(hits) == 0 {
						fmt.Fprintln(w, "no matches")
					}
					for _, h := range hits {
						id := h.ID
						if h.Kind != fairway.SearchTask {
							id = h.Task + " " + h.ID
						}
						fmt.Fprintf(w, "%-8s %s  %s\n", h.Kind, id, oneLine(h.Text))
					}
				})
			}
		},
	})
}
