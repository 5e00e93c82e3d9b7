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
		name: "actor bind", summary: "Bind an actor to an identity provider's issuer and subject, so its sign-ins act as the actor (humans only)", args: "NAME --oidc-issuer URL --oidc-subject SUB",
		example: `fairway actor bind sana --oidc-issuer https://id.example.com --oidc-subject 00u1a2b3c4 --as olivia   # the subject a refused sign-in named`,
		setup: func(fs *flag.FlagSet) runFunc {
			issuer := fs.String("oidc-issuer", "", "the identity provider's issuer URL, as its tokens' iss claim says it (required)")
			subject := fs.String("oidc-subject", "", "the person's subject at the provider, as its tokens' sub claim says it (required)")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 1, "NAME")
				if err != nil {
					return err
				}
				ac, err := svc.BindIdentity(ctx, pos[0], *issuer, *subject)
				if err != nil {
					return err
				}
				return a.output(ac, func(w io.Writer) {
					fmt.Fprintf(w, "bound %s %s to subject %s of %s\n", ac.Kind, ac.Name, ac.Subject, ac.Issuer)
				})
			}
		},
	})
	register(&command{
		name: "token rotate", summary: "Revoke an actor's tokens and issue a new one, shown once; --ttl makes it expire", args: "NAME [--ttl DURATION]",
		example: `fairway token rotate codex-1 --as olivia              # a token that does not expire
fairway token rotate ci --ttl 720h --as olivia          # stops working after 30 days; rotate again before`,
		setup: func(fs *flag.FlagSet) runFunc {
			ttl := fs.Duration("ttl", 0, "the new token expires after this long (5m to 8784h); 0, the default, never")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 1, "NAME")
				if err != nil {
					return err
				}
				out, err := svc.RotateToken(ctx, pos[0], *ttl)
				if err != nil {
					return err
				}
				return a.output(out, func(w io.Writer) {
					fmt.Fprintf(w, "token: %s\n(shown once: only its hash is stored; every earlier token of %s is revoked)\n", out.Token, out.Actor.Name)
					if !out.TokenExpiresAt.IsZero() {
						fmt.Fprintf(w, "it expires at %s\n", out.TokenExpiresAt.UTC().Format(time.RFC3339))
					}
				})
			}
		},
	})
	register(&command{
		name: "token list", summary: "List an actor's tokens that still work or expired: ids, times, never a secret", args: "[ACTOR]",
		example: `fairway token list --as omar             # your own tokens
fairway token list codex-1 --as olivia    # another actor's; then: fairway token revoke ID`,
		setup: noFlags(func(a *app, pos []string) error {
			if len(pos) > 1 {
				return usagef("want at most one argument, the ACTOR (default: you), got %d", len(pos))
			}
			svc, ctx, err := a.connect()
			if err != nil {
				return err
			}
			actor := ""
			if len(pos) == 1 {
				actor = pos[0]
			}
			list, err := svc.ListTokens(ctx, actor)
			if err != nil {
				return err
			}
			if list == nil {
				list = []*fairway.Token{}
			}
			now := time.Now()
			if a.now != nil {
				now = a.now()
			}
			return a.output(list, func(w io.Writer) {
				if len(list) == 0 {
					fmt.Fprintln(w, "no live tokens")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tACTOR\tCREATED\tEXPIRES\tFROM")
				for _, k := range list {
					expires := "never"
					if !k.ExpiresAt.IsZero() {
						expires = k.ExpiresAt.UTC().Format(time.RFC3339)
						if k.Expired(now) {
							expires += " (expired)"
						}
					}
					from := "issued"
					if k.FromLoginLink {
						from = "login link"
					}
					if k.IssuedBy != "" {
						from += " by " + k.IssuedBy
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Actor, k.CreatedAt.UTC().Format(time.RFC3339), expires, from)
				}
				tw.Flush()
			})
		}),
	})
	register(&command{
		name: "token revoke", summary: "Revoke one token by id, or with --all every token of an actor (your own, or as who could issue them)", args: "TOKEN-ID | --all NAME",
		example: `fairway token list codex-1 --as olivia               # find the id
fairway token revoke 3f9a2c1d5e6b7a80 --as olivia     # that token stops; codex-1's others go on
fairway token revoke --all codex-1 --as codex-1       # every token of codex-1, and its sessions end`,
		setup: func(fs *flag.FlagSet) runFunc {
			all := fs.Bool("all", false, "revoke every token of the actor NAME instead of one token, and end its sessions")
			return func(a *app, pos []string) error {
				if *all {
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
				}
				if err := wantArgs(pos, 1, "TOKEN-ID"); err != nil {
					return err
				}
				// An actor's name is refused here, not taken for --all.
				if err := fairway.CheckTokenID(pos[0]); err != nil {
					return err
				}
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				k, err := svc.RevokeToken(ctx, pos[0])
				if err != nil {
					return err
				}
				return a.output(k, func(w io.Writer) {
					fmt.Fprintf(w, "revoked token %s of %s\n", k.ID, k.Actor)
				})
			}
		},
	})
}
