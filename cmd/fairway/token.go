package main

import (
	"flag"
	"fmt"
	"io"
)

func init() {
	register(&command{
		name: "actor disable", summary: "Disable an actor: its tokens and sessions stop at once (humans only)", args: "NAME --reason TEXT",
		example: `fairway actor disable codex-1 --reason "replaced by codex-2" --as olivia`,
		setup: func(fs *flag.FlagSet) runFunc {
			reason := fs.String("reason", "", "why the actor is disabled (required)")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 1, "NAME")
				if err != nil {
					return err
				}
				ac, err := svc.DisableActor(ctx, pos[0], *reason)
				if err != nil {
					return err
				}
				return a.output(ac, func(w io.Writer) {
					fmt.Fprintf(w, "disabled %s %s; its tokens are revoked\n", ac.Kind, ac.Name)
				})
			}
		},
	})
	register(&command{
		name: "token rotate", summary: "Revoke an actor's tokens and issue a new one, shown once", args: "NAME",
		example: `fairway token rotate codex-1 --as olivia`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "NAME")
			if err != nil {
				return err
			}
			out, err := svc.RotateToken(ctx, pos[0])
			if err != nil {
				return err
			}
			return a.output(out, func(w io.Writer) {
				fmt.Fprintf(w, "token: %s\n(shown once: only its hash is stored; every earlier token of %s is revoked)\n", out.Token, out.Actor.Name)
			})
		}),
	})
	register(&command{
		name: "token revoke", summary: "Revoke every token of an actor (your own, or as who could issue them)", args: "NAME",
		example: `fairway token revoke codex-1 --as olivia`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "NAME")
			if err != nil {
				return err
			}
			n, err := svc.RevokeTokens(ctx, pos[0])
			if err != nil {
				return err
			}
			return a.output(map[string]int{"revoked": n}, func(w io.Writer) {
				fmt.Fprintf(w, "revoked %d token(s) of %s\n", n, pos[0])
			})
		}),
	})
}
