package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"fairway"
	"fairway/portal"
	"fairway/runner"
)

func init() {
	register(&command{
		name: "portal build", summary: "Write the portal's pages as a static site; it says current only with source checks and build evidence for the commit", args: "--out DIR [--task KEY]",
		example: `fairway portal build --out site --task DOCS-PORTAL-001 --as priya`,
		setup: func(fs *flag.FlagSet) runFunc {
			var out, task string
			fs.StringVar(&out, "out", "", "`DIR` to write the site to (required)")
			fs.StringVar(&task, "task", "", "record the build as command-result evidence on task `KEY` (needed for the site to say current)")
			return func(a *app, pos []string) error {
				if out == "" {
					return fairway.FieldError("out", "is required: the folder to write the site to, e.g. --out site")
				}
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				dir, _ := os.Getwd()
				progress := a.stderr
				if a.json {
					progress = io.Discard
				}
				p := portal.New(svc, nil, nil, nil)
				if a.now != nil {
					p.Now = a.now
				}
				rep, err := p.Build(ctx, portal.BuildOptions{Out: out, Source: runner.SourceState(dir), Task: task,
					Argv: append([]string{"fairway"}, os.Args[1:]...), Dir: dir, Progress: progress})
				if err != nil {
					return err
				}
				return a.output(rep, func(w io.Writer) {
					fmt.Fprintf(w, "wrote %d pages and %d evidence files to %s\n", rep.Pages, rep.Files, out)
					for _, pr := range rep.Problems {
						fmt.Fprintf(w, "  problem: %s\n", pr)
					}
					if rep.Evidence != nil {
						fmt.Fprintf(w, "recorded the build as %s on %s\n", rep.Evidence.ID, task)
					}
					fmt.Fprintf(w, "%s: %s\n", rep.Badge.State, rep.Badge.Reason)
				})
			}
		},
	})
}
