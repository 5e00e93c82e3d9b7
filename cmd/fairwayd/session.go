package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"fairway"
	"fairway/ledger"
)

func init() {
	register(&command{
		name: "session attach", summary: "Attach a provider session to a task; prints its id and credential (once)", args: "--task KEY --provider NAME [--replace SESSION]",
		example: `fairway session attach --task OPS-FIX-001 --provider codex --as codex-1
fairway session attach --task OPS-FIX-001 --provider claude --replace ses-0123456789abcdef --as claude-1`,
		setup: func(fs *flag.FlagSet) runFunc {
			var in fairway.SessionAttach
			fs.StringVar(&in.Task, "task", "", "the task to attach to (required)")
			fs.StringVar(&in.Provider, "provider", "", "codex, claude, gemini, tmux, shell, browser or another name (required)")
			fs.StringVar(&in.Replace, "replace", "", "supersede this live session explicitly")
			fs.StringVar(&in.Host, "host", "", "the host the session runs on (default this host)")
			fs.StringVar(&in.Dir, "workdir", "", "the session's working directory")
			fs.StringVar(&in.BaseCommit, "base-commit", "", "the commit the session's work starts from")
			fs.StringVar(&in.TmuxSocket, "tmux-socket", "", "tmux socket of the session's pane")
			fs.StringVar(&in.TmuxPane, "tmux-pane", "", "tmux pane id")
			fs.IntVar(&in.PID, "pid", 0, "pid of the session's process")
			fs.StringVar(&in.PIDStart, "pid-start", "", "start time of that process, as the OS reports it")
			providerID := fs.String("provider-session", "", "the provider's own session id")
			ttl := fs.Duration("lease", fairway.DefaultLeaseTTL, "lease length; heartbeat before it runs out")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				in.LeaseTTL = *ttl
				if *providerID != "" {
					in.ProviderSessions = []string{*providerID}
				}
				if in.Host == "" {
					in.Host, _ = os.Hostname()
				}
				out, err := svc.AttachSession(ctx, in)
				if err != nil {
					return err
				}
				return a.output(out, func(w io.Writer) {
					if h := out.Handoff; h != nil {
						fmt.Fprintf(w, "handoff from %s (%s, %s, %s):\n  %s\n\n", h.Session, h.Actor, h.Provider, fmtTime(h.At), indent(h.Summary))
					}
					s := out.Session
					fmt.Fprintf(w, "attached %s to %s (generation %d, lease until %s)\n", s.ID, s.Task, s.Generation, fmtTime(s.LeaseUntil))
					fmt.Fprintf(w, "credential: %s\n(shown once: only its hash is stored)\n", out.Token)
					if !s.CredentialExpiresAt.IsZero() {
						fmt.Fprintf(w, "it expires at %s, with the token that attached it: heartbeats renew the lease, not this\n", fmtTime(s.CredentialExpiresAt))
					}
					fmt.Fprintf(w, "act through it: export FAIRWAY_SESSION=%s FAIRWAY_SESSION_TOKEN=<credential>\n", s.ID)
				})
			}
		},
	})
	register(&command{
		name: "session heartbeat", summary: "Renew a live session's lease", args: "[ID]",
		example: `fairway session heartbeat ses-0123456789abcdef --as codex-1
FAIRWAY_SESSION_TOKEN=fws_... fairway session heartbeat`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, id, err := a.sessionArg(pos)
			if err != nil {
				return err
			}
			s, err := svc.HeartbeatSession(ctx, id)
			if err != nil {
				return err
			}
			return a.output(s, func(w io.Writer) {
				fmt.Fprintf(w, "%s lease renewed until %s\n", s.ID, fmtTime(s.LeaseUntil))
			})
		}),
	})
	register(&command{
		name: "session detach", summary: "End a session, leaving a handoff for the next one", args: "[ID] --handoff TEXT",
		example: `fairway session detach ses-0123456789abcdef --handoff "migrations written; next: run the smoke suite" --as codex-1`,
		setup: func(fs *flag.FlagSet) runFunc {
			handoff := fs.String("handoff", "", "what the next session should know first")
			return func(a *app, pos []string) error {
				svc, ctx, id, err := a.sessionArg(pos)
				if err != nil {
					return err
				}
				a.scopeAtDetach(ctx, svc, id)
				s, err := svc.DetachSession(ctx, id, *handoff)
				if err != nil {
					return err
				}
				return a.output(s, func(w io.Writer) { fmt.Fprintf(w, "detached %s from %s\n", s.ID, s.Task) })
			}
		},
	})
	register(&command{
		name: "session list", summary: "List sessions", args: "[--task KEY] [--live]",
		example: `fairway session list --task OPS-FIX-001
fairway session list --live --json`,
		setup: func(fs *flag.FlagSet) runFunc {
			var f fairway.SessionFilter
			fs.StringVar(&f.Task, "task", "", "only this task's sessions")
			fs.StringVar(&f.Actor, "actor", "", "only this actor's sessions")
			fs.StringVar(&f.State, "state", "", "only sessions in this state")
			fs.BoolVar(&f.Live, "live", false, "only attached sessions with a lease that has not run out")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				out, err := svc.ListSessions(ctx, f)
				if err != nil {
					return err
				}
				return a.output(out, func(w io.Writer) { printSessions(w, out) })
			}
		},
	})
	register(&command{
		name: "session show", summary: "Show a session, its lease and its observations", args: "ID",
		example: `fairway session show ses-0123456789abcdef`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "ID")
			if err != nil {
				return err
			}
			s, err := svc.GetSession(ctx, pos[0])
			if err != nil {
				return err
			}
			return a.output(s, func(w io.Writer) { printSession(w, s) })
		}),
	})
}

// sessionArg takes the session ID from the argument, or from --session
// or $FAIRWAY_SESSION.
func (a *app) sessionArg(pos []string) (fairway.Service, context.Context, string, error) {
	if len(pos) > 1 {
		return nil, nil, "", usagef("want at most one session ID, got %d arguments", len(pos))
	}
	id := firstNonEmpty(a.session, a.getenv("FAIRWAY_SESSION"))
	if len(pos) == 1 {
		id = pos[0]
	}
	if id == "" {
		return nil, nil, "", usagef("name the session: an ID argument, --session or $FAIRWAY_SESSION")
	}
	svc, ctx, err := a.connect()
	return svc, ctx, id, err
}

// sessionContext resolves a session credential in local mode: the
// credential names its session and actor, and writes are fenced on its
// generation, as the server does with a bearer credential.
func (a *app) sessionContext(l *ledger.Ledger) (context.Context, error) {
	token := a.getenv("FAIRWAY_SESSION_TOKEN")
	id := firstNonEmpty(a.session, a.getenv("FAIRWAY_SESSION"))
	if token == "" {
		if a.session != "" {
			return nil, usagef("--session needs the session's credential in $FAIRWAY_SESSION_TOKEN")
		}
		return a.actorContext(), nil
	}
	actor, auth, err := l.AuthenticateSession(a.ctx, token)
	if err != nil {
		return nil, err
	}
	if id != "" && id != auth.Session {
		return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "$FAIRWAY_SESSION_TOKEN is the credential of session %s, not %s", auth.Session, id)
	}
	if as := firstNonEmpty(a.as, a.getenv("FAIRWAY_ACTOR")); as != "" && as != actor.Name {
		return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the session credential belongs to %s, not %s", actor.Name, as)
	}
	return fairway.NewContextWithAuth(fairway.NewContextWithActor(a.ctx, actor), auth), nil
}

func printSessions(w io.Writer, list []*fairway.Session) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no sessions")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTASK\tACTOR\tPROVIDER\tGEN\tSTATE\tLEASE UNTIL")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.ID, s.Task, s.Actor, visible(s.Provider, false), s.Generation, s.State, fmtTime(s.LeaseUntil))
	}
	tw.Flush()
}

func printSession(w io.Writer, s *fairway.Session) {
	fmt.Fprintf(w, "%s  on %s\n", s.ID, s.Task)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  state:\t%s\n", s.State)
	if s.Reason != "" {
		fmt.Fprintf(tw, "  why:\t%s\n", oneLine(s.Reason))
	}
	fmt.Fprintf(tw, "  actor:\t%s (%s)\n", s.Actor, s.ActorKind)
	fmt.Fprintf(tw, "  provider:\t%s\n", visible(s.Provider, false))
	fmt.Fprintf(tw, "  generation:\t%d\n", s.Generation)
	fmt.Fprintf(tw, "  lease:\t%s until %s\n", s.LeaseTTL, fmtTime(s.LeaseUntil))
	if !s.CredentialExpiresAt.IsZero() {
		fmt.Fprintf(tw, "  credential expires:\t%s\n", fmtTime(s.CredentialExpiresAt))
	}
	for _, r := range [][2]string{{"host", s.Host}, {"workdir", s.Dir}, {"base commit", s.BaseCommit}, {"tmux", strings.Trim(s.TmuxSocket+" "+s.TmuxPane, " ")},
		{"provider sessions", strings.Join(s.ProviderSessions, ", ")}, {"replaces", s.Replaces}, {"replaced by", s.ReplacedBy}} {
		if r[1] != "" {
			fmt.Fprintf(tw, "  %s:\t%s\n", r[0], oneLine(r[1]))
		}
	}
	if s.PID != 0 {
		fmt.Fprintf(tw, "  pid:\t%d (started %s)\n", s.PID, oneLine(s.PIDStart))
	}
	fmt.Fprintf(tw, "  attached:\t%s\n", fmtTime(s.AttachedAt))
	if !s.EndedAt.IsZero() {
		fmt.Fprintf(tw, "  ended:\t%s\n", fmtTime(s.EndedAt))
	}
	tw.Flush()
	if s.Handoff != "" {
		fmt.Fprintf(w, "  handoff:\n    %s\n", indent(s.Handoff))
	}
	if len(s.Observations) > 0 {
		fmt.Fprintln(w, "  observations (newest first):")
		for _, o := range s.Observations {
			line := fmt.Sprintf("    %s  %s", fmtTime(o.At), o.Source)
			if o.ExitCode != nil {
				line += fmt.Sprintf(" (exit %d)", *o.ExitCode)
			}
			if o.Detail != "" {
				line += "  " + oneLine(o.Detail)
			}
			fmt.Fprintln(w, line)
		}
	}
}

// indent keeps a multi-line text under its heading, made visible.
func indent(s string) string {
	return strings.ReplaceAll(visible(s, true), "\n", "\n    ")
}

// latestHandoff is the newest handoff a task's ended sessions left.
func latestHandoff(list []*fairway.Session) *fairway.Session {
	var h *fairway.Session
	for _, s := range list {
		if s.Handoff != "" && (h == nil || !s.EndedAt.Before(h.EndedAt)) {
			h = s
		}
	}
	return h
}
