package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"fairway"
	"fairway/ledger"
	"fairway/portal"
	"fairway/runner"
)

func init() {
	register(&command{
		name: "portal login-link", summary: "Print a one-time link that signs you into the portal (local store only)", args: "[--url BASE] [--ttl 10m] [--session-ttl 12h]",
		example: `fairway portal login-link --as omar
fairway portal login-link --as omar --url https://fairway.example --ttl 5m --session-ttl 2h --json
# The link must be opened within --ttl; the sign-in it starts ends after --session-ttl
# or at "Sign out", whichever comes first. Then ask for a new link.`,
		setup: func(fs *flag.FlagSet) runFunc {
			var base string
			var ttl, sessionTTL time.Duration
			fs.StringVar(&base, "url", "http://127.0.0.1:8080", "the portal's `BASE` URL, as people open it")
			fs.DurationVar(&ttl, "ttl", ledger.LoginLinkTTL, "how long the link is good for (at most 1h); it signs in once")
			fs.DurationVar(&sessionTTL, "session-ttl", ledger.PortalSessionTTL, "how long the portal sign-in the link starts lasts (5m to 168h); its token then stops working")
			return func(a *app, pos []string) error {
				u, err := url.Parse(base)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fairway.FieldError("url", "%q is not the portal's address: give it as http(s)://HOST[:PORT]", base)
				}
				if a.remote() {
					return fairway.Errorf(fairway.EINVALID, "login links are issued against the local store, on the machine that holds it: run this there without --server (a link signs its person in to any portal over that store)")
				}
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				l, ok := svc.(*ledger.Ledger)
				if !ok {
					return fairway.Errorf(fairway.EINVALID, "login links are issued against the local store")
				}
				link, err := l.IssueLoginLink(ctx, ttl, sessionTTL)
				if err != nil {
					return err
				}
				u.Path = strings.TrimSuffix(u.Path, "/") + "/login"
				u.RawQuery = url.Values{"link": {link.Link}}.Encode()
				out := struct {
					*ledger.LoginLink
					URL string `json:"url"`
				}{link, u.String()}
				return a.output(out, func(w io.Writer) {
					fmt.Fprintf(w, "%s\n", u.String())
					fmt.Fprintf(w, "signs %s in once, until %s; the sign-in lasts %s\n", link.Actor, link.ExpiresAt.Format(time.RFC3339), link.SessionTTL)
				})
			}
		},
	})
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
				dir, _ := a.workDir()
				// The bar redraws one line: only a terminal shows it as
				// one, so a log or a pipe gets none.
				progress := a.stderr
				if a.json || !newProgressBar(a.stderr).tty {
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
