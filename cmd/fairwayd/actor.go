package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"fairway"
)

func init() {
	register(&command{
		name: "actor create", summary: "Create a human, agent or service actor and print its token once", args: "NAME --kind human|agent|service",
		example: `fairway actor create alice --kind human                  # the first actor bootstraps an empty ledger
fairway actor create codex-1 --kind agent --as alice     # prints the agent's bearer token once`,
		setup: func(fs *flag.FlagSet) runFunc {
			var in fairway.ActorCreate
			fs.StringVar(&in.Kind, "kind", "", "human, agent or service (required)")
			fs.StringVar(&in.DisplayName, "display-name", "", "name shown to people")
			noToken := fs.Bool("no-token", false, "do not issue a bearer token")
			return func(a *app, pos []string) error {
				a.createsStore = true // the first actor starts a ledger
				svc, ctx, err := a.service(pos, 1, "NAME")
				if err != nil {
					return err
				}
				in.Name, in.IssueToken = pos[0], !*noToken
				out, err := svc.CreateActor(ctx, in)
				if err != nil {
					return err
				}
				return a.output(out, func(w io.Writer) {
					fmt.Fprintf(w, "created %s %s\n", out.Actor.Kind, out.Actor.Name)
					if out.Token != "" {
						fmt.Fprintf(w, "token: %s\n(shown once: only its hash is stored; use it as FAIRWAY_TOKEN with --server)\n", out.Token)
						if !out.TokenExpiresAt.IsZero() {
							// Issued with a credential that expires: it ends with it.
							fmt.Fprintf(w, "it expires at %s, with the token that created it\n", out.TokenExpiresAt.UTC().Format(time.RFC3339))
						}
					}
				})
			}
		},
	})
	register(&command{
		name: "actor list", summary: "List actors", args: "",
		example: `fairway actor list --json`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 0, "no arguments")
			if err != nil {
				return err
			}
			actors, err := svc.ListActors(ctx)
			if err != nil {
				return err
			}
			if actors == nil {
				actors = []*fairway.Actor{}
			}
			return a.output(actors, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tKIND\tDISPLAY NAME\tCREATED")
				for _, ac := range actors {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ac.Name, ac.Kind, orDash(oneLine(ac.DisplayName)), fmtTime(ac.CreatedAt))
				}
				tw.Flush()
			})
		}),
	})
	register(&command{
		name: "actor whoami", summary: "Show who you act as", args: "",
		example: `FAIRWAY_ACTOR=alice fairway actor whoami
fairway actor whoami --server http://127.0.0.1:8080 --token "$FAIRWAY_TOKEN"`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 0, "no arguments")
			if err != nil {
				return err
			}
			ac, err := svc.Whoami(ctx)
			if err != nil {
				return err
			}
			return a.output(ac, func(w io.Writer) { fmt.Fprintf(w, "%s (%s)\n", ac.Name, ac.Kind) })
		}),
	})
}
