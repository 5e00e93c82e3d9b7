package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"fairway"
	"fairway/ledger"
)

func reviewCommand(verdict, summary, example string) *command {
	name := map[string]string{fairway.VerdictApproved: "review approve", fairway.VerdictChangesRequested: "review request-changes", fairway.VerdictResolved: "review resolve"}[verdict]
	return &command{
		name: name, summary: summary, args: "KEY --domain DOMAIN", example: example,
		setup: func(fs *flag.FlagSet) runFunc {
			in := fairway.ReviewAdd{Verdict: verdict}
			fs.StringVar(&in.Domain, "domain", "", "review domain you review for (required)")
			fs.StringVar(&in.Comment, "comment", "", "a comment for the record")
			fs.StringVar(&in.Snapshot, "snapshot", "", "the snapshot you judged (`DIGEST`, as `gate explain` shows it): refused if the task changed since")
			items := &listFlag{}
			if verdict == fairway.VerdictChangesRequested {
				fs.Var(items, "item", "a concrete change wanted (`TEXT`, repeatable, at least one)")
			}
			if verdict == fairway.VerdictResolved {
				fs.Int64Var(&in.Resolves, "request", 0, "the change request to resolve, when the domain has several")
			}
			return func(a *app, pos []string) error {
				if err := wantArgs(pos, 1, "KEY"); err != nil {
					return err
				}
				in.Task, in.Items = pos[0], items.vals
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				rv, err := svc.AddReview(ctx, in)
				if err != nil {
					return err
				}
				return a.output(rv, func(w io.Writer) {
					switch verdict {
					case fairway.VerdictApproved:
						fmt.Fprintf(w, "review %d: %s approved %s for %s (bound to snapshot %s)\n", rv.ID, rv.Reviewer, rv.Task, rv.Domain, rv.Snapshot)
					case fairway.VerdictChangesRequested:
						fmt.Fprintf(w, "review %d: %s requested changes to %s for %s: %s\n", rv.ID, rv.Reviewer, rv.Task, rv.Domain, oneLine(strings.Join(rv.Items, "; ")))
					default:
						fmt.Fprintf(w, "review %d: %s resolved change request %d on %s\n", rv.ID, rv.Reviewer, rv.Resolves, rv.Task)
					}
				})
			}
		},
	}
}

func init() {
	register(reviewCommand(fairway.VerdictApproved, "Approve a task for one review domain (independent humans only)",
		`fairway review approve OPS-EDGE-001 --domain ops --as olivia`))
	register(reviewCommand(fairway.VerdictChangesRequested, "Request concrete changes for one review domain; blocks the gate until resolved",
		`fairway review request-changes OPS-EDGE-001 --domain security --item "add the tunnel rollback step" --item "attach the DNS diff" --as sana`))
	register(reviewCommand(fairway.VerdictResolved, "Resolve a change request once the changes are made (a member of the domain)",
		`fairway review resolve OPS-EDGE-001 --domain security --as sergei`))
	register(&command{
		name: "review list", summary: "List a task's reviews", args: "KEY|--task KEY",
		example: `fairway review list OPS-EDGE-001`,
		setup: withTask(func(a *app, key string) error {
			svc, ctx, err := a.connect()
			if err != nil {
				return err
			}
			list, err := svc.ListReviews(ctx, key)
			if err != nil {
				return err
			}
			return a.output(list, func(w io.Writer) {
				if len(list) == 0 {
					fmt.Fprintln(w, "no reviews")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tDOMAIN\tREVIEWER\tVERDICT\tMFA\tAT\tDETAIL")
				for _, r := range list {
					detail := strings.Join(r.Items, "; ")
					if r.Resolves != 0 {
						detail = fmt.Sprintf("resolves %d", r.Resolves)
					}
					mfa := "-"
					if r.MFA != nil {
						mfa = yesNo(r.MFA.MFA)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Domain, r.Reviewer, r.Verdict, mfa, fmtTime(r.At), oneLine(detail))
				}
				tw.Flush()
			})
		}),
	})
	register(&command{
		name: "waiver request", summary: "Ask to lift one requirement of a task or lane until a time", args: "--task KEY|--lane L --requirement ID --reason TEXT --expires WHEN",
		example: `fairway waiver request --task OPS-UAT-KIND-FULL-001 --requirement prerequisite:kind-compute-capacity \
    --reason "ops approved running UAT on the alternate small profile" --expires 72h --as priya`,
		setup: func(fs *flag.FlagSet) runFunc {
			var in fairway.WaiverRequest
			fs.StringVar(&in.Task, "task", "", "the task whose requirement is lifted")
			fs.StringVar(&in.Lane, "lane", "", "or: the lane whose tasks it is lifted for")
			fs.StringVar(&in.Requirement, "requirement", "", "requirement `ID` as fairway gate explain shows it (required)")
			fs.StringVar(&in.Reason, "reason", "", "why it may be lifted (required)")
			expiresText := fs.String("expires", "", "when it ends: a duration like 72h or a time like 2026-12-31T00:00:00Z (required)")
			return func(a *app, pos []string) error {
				if err := wantArgs(pos, 0, "no arguments"); err != nil {
					return err
				}
				expires, err := parseExpiry(*expiresText, a.clock())
				if err != nil {
					return err
				}
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				in.ExpiresAt = expires
				w, err := svc.RequestWaiver(ctx, in)
				if err != nil {
					return err
				}
				return a.output(w, func(out io.Writer) {
					fmt.Fprintf(out, "waiver %d requested for %s on %s until %s; it counts once a member of %s approves it\n",
						w.ID, w.Requirement, orText(w.Task, "lane "+w.Lane), fmtTime(w.ExpiresAt), w.Domain)
				})
			}
		},
	})
	register(&command{
		name: "waiver approve", summary: "Approve a waiver (an independent human of its domain)", args: "ID",
		example: `fairway waiver approve 3 --as omar`,
		setup: noFlags(func(a *app, pos []string) error {
			if err := wantArgs(pos, 1, "ID"); err != nil {
				return err
			}
			id, err := strconv.ParseInt(pos[0], 10, 64)
			if err != nil {
				return usagef("%q is not a waiver number", pos[0])
			}
			svc, ctx, err := a.connect()
			if err != nil {
				return err
			}
			w, err := svc.ApproveWaiver(ctx, id)
			if err != nil {
				return err
			}
			return a.output(w, func(out io.Writer) {
				fmt.Fprintf(out, "waiver %d approved by %s: %s is lifted on %s until %s\n", w.ID, w.ApprovedBy, w.Requirement, orText(w.Task, "lane "+w.Lane), fmtTime(w.ExpiresAt))
			})
		}),
	})
	register(&command{
		name: "waiver list", summary: "List the waivers of a task or a lane", args: "[--task KEY] [--lane L]",
		example: `fairway waiver list --task OPS-UAT-KIND-FULL-001`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "waivers of this task")
			lane := fs.String("lane", "", "waivers of this lane")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				list, err := svc.ListWaivers(ctx, *task, *lane)
				if err != nil {
					return err
				}
				now := a.clock()
				return a.output(list, func(w io.Writer) {
					if len(list) == 0 {
						fmt.Fprintln(w, "no waivers")
						return
					}
					tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tFOR\tREQUIREMENT\tSTATE\tEXPIRES\tREASON")
					for _, x := range list {
						state := "requested (needs " + x.Domain + ")"
						switch {
						case x.ActiveAt(now):
							state = "approved by " + x.ApprovedBy
						case !now.Before(x.ExpiresAt):
							state = "expired"
						}
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", x.ID, orText(x.Task, "lane "+x.Lane), x.Requirement, state, fmtTime(x.ExpiresAt), oneLine(x.Reason))
					}
					tw.Flush()
				})
			}
		},
	})
	register(&command{
		name: "policy check", summary: "Check a governance file; errors name file, line, column and reason", args: "FILE",
		example: `fairway policy check governance.yaml`,
		setup: noFlags(func(a *app, pos []string) error {
			if err := wantArgs(pos, 1, "FILE"); err != nil {
				return err
			}
			src, err := os.ReadFile(pos[0])
			if err != nil {
				return fairway.FieldError("file", "cannot read %s: %v", pos[0], errText(err))
			}
			p, err := ledger.CheckPolicy(pos[0], src)
			if err != nil {
				return err
			}
			return a.output(map[string]any{"file": pos[0], "digest": p.Digest, "ok": true}, func(w io.Writer) {
				fmt.Fprintf(w, "%s is a valid policy: %d layers, %d review domains, %d surfaces, %d protected change classes, %d prerequisites, %d rules\ndigest %s\n",
					pos[0], len(p.Layers), len(p.ReviewDomains), len(p.Surfaces), len(p.ProtectedClasses), len(p.Prerequisites), len(p.Rules), p.Digest)
			})
		}),
	})
	register(&command{
		name: "policy show", summary: "Print the governance policy in force, with its digest", args: "",
		example: `fairway policy show
fairway policy show --json | jq -r .digest`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.connect()
			if err != nil {
				return err
			}
			p, err := svc.ActivePolicy(ctx)
			if err != nil {
				return err
			}
			return a.output(p, func(w io.Writer) {
				how := "bootstrapped"
				if p.Task != "" {
					how = "through task " + p.Task
				}
				fmt.Fprintf(w, "# policy in force: %s (%s), %s by %s, since %s\n%s", p.Digest, p.File, how, p.ProposedBy, fmtTime(p.ActivatedAt), p.Source)
			})
		}),
	})
	register(&command{
		name: "policy apply", summary: "Bootstrap the first governance policy on a ledger that has none (humans only)", args: "FILE",
		example: `fairway policy apply governance.yaml --as olivia`,
		setup: noFlags(func(a *app, pos []string) error {
			return policyUpload(a, pos, "")
		}),
	})
	register(&command{
		name: "policy propose", summary: "Propose a policy change on a task; it takes effect when that task's gate passes", args: "FILE --task KEY",
		example: `fairway task create GOV-POLICY-002 --title "Require two security approvals for edge" --as priya
fairway policy propose governance.yaml --task GOV-POLICY-002 --as priya`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "the task that carries the change (required)")
			return func(a *app, pos []string) error {
				if *task == "" {
					return usagef("--task is required: a policy change goes through a task's gate")
				}
				return policyUpload(a, pos, *task)
			}
		},
	})
}

func policyUpload(a *app, pos []string, task string) error {
	if err := wantArgs(pos, 1, "FILE"); err != nil {
		return err
	}
	src, err := os.ReadFile(pos[0])
	if err != nil {
		return fairway.FieldError("file", "cannot read %s: %v", pos[0], errText(err))
	}
	svc, ctx, err := a.connect()
	if err != nil {
		return err
	}
	var rec *fairway.PolicyRecord
	if task == "" {
		rec, err = svc.BootstrapPolicy(ctx, filepath.Base(pos[0]), src)
	} else {
		rec, err = svc.ProposePolicy(ctx, task, filepath.Base(pos[0]), src)
	}
	if err != nil {
		return err
	}
	return a.output(rec, func(w io.Writer) {
		if task == "" {
			fmt.Fprintf(w, "policy %s is in force\n", rec.Digest)
		} else {
			fmt.Fprintf(w, "policy %s proposed on %s; it takes effect when %s closes through its gate\n", rec.Digest, task, task)
		}
	})
}

// parseExpiry reads a duration from now or an RFC 3339 time.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fairway.FieldError("expires", "is required: every waiver ends (e.g. 72h or 2026-12-31T00:00:00Z)")
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fairway.FieldError("expires", "%q is neither a duration like 72h nor a time like 2026-12-31T00:00:00Z", s)
	}
	return t, nil
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
