package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"fairway"
	"fairway/report"
	"fairway/runner"
)

func init() {
	register(&command{
		name: "evidence add", summary: "Record files as evidence: screenshots, UAT reports, scan output, exports, rollback plans", args: "KEY|--task KEY --kind KIND FILE... (- for standard input)",
		example: `fairway evidence add --task OPS-FIX-001 --kind uat-report junit.xml --as codex
fairway evidence add --task OPS-FIX-001 --kind rollback-plan rollback.md --note "restore previous tunnel config" --as alice
kubectl get pods -A | fairway evidence add --task OPS-FIX-001 --kind log -`,
		more: printKinds,
		setup: func(fs *flag.FlagSet) runFunc {
			var in fairway.EvidenceAdd
			fs.StringVar(&in.Task, "task", "", "task the evidence is for (or KEY as the first argument)")
			fs.StringVar(&in.Kind, "kind", "", "evidence kind (required); the kinds and what success means for each are listed below")
			fs.StringVar(&in.Note, "note", "", "a line about what this proves")
			fs.StringVar(&in.MediaType, "media-type", "", "media type, when detection is not enough")
			fs.StringVar(&in.Supersedes, "supersedes", "", "ID of the evidence this corrects")
			return func(a *app, pos []string) error {
				var err error
				if in.Task, pos, err = leadingTask(pos, in.Task); err != nil {
					return err
				}
				if len(pos) == 0 {
					return usagef("want at least one FILE")
				}
				// Open every file first: an unreadable one stops the command
				// before anything is recorded.
				var files []*os.File
				defer func() {
					for _, f := range files {
						f.Close()
					}
				}()
				for _, name := range pos {
					if name == "-" {
						// Standard input is spooled to a file first, so it can be
						// hashed before an upload and sent after.
						f, err := spool(a.stdin)
						if err != nil {
							return err
						}
						files = append(files, f)
						continue
					}
					f, err := os.Open(name)
					if err != nil {
						return fairway.FieldError("file", "cannot read %s: %v", name, errText(err))
					}
					if fi, err := f.Stat(); err == nil && fi.IsDir() {
						return fairway.FieldError("file", "%s is a folder; name the files in it", name)
					}
					files = append(files, f)
				}
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				// Where the files were recorded from: the source tree and the
				// machine, as for `fairway run`.
				dir, _ := a.workDir()
				source, env := runner.SourceState(dir), runner.Environment(nil, nil)
				var recorded []*fairway.Evidence
				for i, f := range files {
					filename := filepath.Base(pos[i])
					if pos[i] == "-" {
						filename = "stdin"
					}
					add := in
					add.Filename, add.Source, add.Environment = filename, source, env
					if a.remote() {
						// Over the network the server checks the bytes it got
						// against the digest computed here.
						if add.ExpectedDigest, err = fileDigest(f); err != nil {
							return err
						}
					}
					e, err := svc.AddEvidence(ctx, add, fairway.EvidenceParts{Content: f})
					if err != nil {
						return err
					}
					recorded = append(recorded, e)
					if !a.json {
						a.printHuman(func(w io.Writer) {
							fmt.Fprintf(w, "recorded %s  %s  %s  %s\n", e.ID, e.Kind, oneLine(e.Filename), e.Digest)
							printScan(w, e)
						})
					}
				}
				if a.json {
					return a.printJSON(recorded)
				}
				return nil
			}
		},
	})
	register(&command{
		name: "evidence list", summary: "List a task's evidence", args: "[KEY|--task KEY] [--kind KIND]",
		example: `fairway evidence list --task OPS-FIX-001`,
		setup: func(fs *flag.FlagSet) runFunc {
			var f fairway.EvidenceFilter
			fs.StringVar(&f.Task, "task", "", "only this task (or KEY as the argument)")
			fs.StringVar(&f.Kind, "kind", "", "only this kind")
			return func(a *app, pos []string) error {
				if len(pos) > 0 {
					key, err := taskArg(pos, f.Task, 0)
					if err != nil {
						return err
					}
					f.Task, pos = key, nil
				}
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				list, err := svc.ListEvidence(ctx, f)
				if err != nil {
					return err
				}
				superseded := map[string]string{}
				for _, e := range list {
					if e.Supersedes != "" {
						superseded[e.Supersedes] = e.ID
					}
				}
				return a.output(list, func(w io.Writer) {
					if len(list) == 0 {
						fmt.Fprintln(w, "no evidence")
						return
					}
					tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tTASK\tKIND\tSIZE\tBY\tRECORDED\tFILE\tNOTES")
					for _, e := range list {
						var notes []string
						if by, ok := superseded[e.ID]; ok {
							notes = append(notes, "superseded by "+by)
						}
						if e.Kind == fairway.EvidenceContext {
							notes = append(notes, "context only, not proof")
						}
						if e.Scan.Redacted {
							notes = append(notes, "secrets redacted")
						}
						if e.Command != nil {
							notes = append(notes, fmt.Sprintf("exit %d", e.Command.ExitCode))
						}
						if e.Summary != nil {
							notes = append(notes, report.String(e.Summary))
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s (%s)\t%s\t%s\t%s\n", e.ID, e.Task, e.Kind, e.Size, e.RecordedBy, e.RecordedByKind,
							fmtTime(e.RecordedAt), orDash(oneLine(e.Filename)), oneLine(strings.Join(notes, "; ")))
					}
					tw.Flush()
				})
			}
		},
	})
	register(&command{
		name: "evidence show", summary: "Show one evidence record", args: "ID",
		example: `fairway evidence show EV-3F2A9C81D0E4 --json`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 1, "ID")
			if err != nil {
				return err
			}
			e, err := svc.GetEvidence(ctx, pos[0])
			if err != nil {
				return err
			}
			return a.output(e, func(w io.Writer) { printEvidence(w, e) })
		}),
	})
	register(&command{
		name: "evidence get", summary: "Write an evidence record's exact bytes to stdout or a file", args: "ID [--part content|stdout|stderr] [-o FILE]",
		example: `fairway evidence get EV-3F2A9C81D0E4 -o report.xml
fairway evidence get EV-3F2A9C81D0E4 --part stderr | less`,
		setup: func(fs *flag.FlagSet) runFunc {
			part := fs.String("part", "content", "which bytes: content, stdout or stderr")
			outFile := fs.String("o", "", "write to this `FILE` instead of stdout")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 1, "ID")
				if err != nil {
					return err
				}
				rc, err := svc.OpenEvidence(ctx, pos[0], *part)
				if err != nil {
					return err
				}
				defer rc.Close()
				if name := *outFile; name != "" {
					f, err := os.Create(name)
					if err != nil {
						return fairway.FieldError("o", "cannot create %s: %v", name, errText(err))
					}
					_, err = io.Copy(f, rc)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
					if err != nil {
						// Bytes that are not the record's are not left behind.
						os.Remove(name)
					}
					return err
				}
				_, err = io.Copy(a.stdout, rc)
				return err
			}
		},
	})
	register(&command{
		name: "evidence verify", summary: "Recompute every evidence digest and name any blob that no longer matches", args: "",
		example: `fairway evidence verify`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 0, "no arguments")
			if err != nil {
				return err
			}
			v, err := svc.VerifyEvidence(ctx)
			if err != nil {
				return err
			}
			if err := a.output(v, func(w io.Writer) {
				if v.OK {
					fmt.Fprintf(w, "evidence intact: %d blobs checked\n", v.Checked)
					return
				}
				for _, p := range v.Problems {
					fmt.Fprintf(w, "%s %s %s: %s\n", p.Evidence, p.Part, p.Digest, p.Problem)
				}
			}); err != nil {
				return err
			}
			if !v.OK {
				return fairway.Errorf(fairway.ECONFLICT, "%d evidence blob(s) do not match their digest", len(v.Problems))
			}
			return nil
		}),
	})
	register(&command{
		name: "claim", summary: "Record what an agent says about its work; shown to reviewers, never evidence", args: "KEY|--task KEY TEXT",
		example: `fairway claim OPS-FIX-001 "tests pass; ready for review" --as codex`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "task the claim is about (or KEY as the first argument)")
			return func(a *app, pos []string) error {
				var err error
				if *task, pos, err = leadingTask(pos, *task); err != nil {
					return err
				}
				if len(pos) == 0 {
					return usagef("want the claim's TEXT")
				}
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				c, err := svc.AddClaim(ctx, fairway.ClaimAdd{Task: *task, Text: strings.Join(pos, " ")})
				if err != nil {
					return err
				}
				return a.output(c, func(w io.Writer) {
					fmt.Fprintf(w, "claim %d recorded on %s (a claim is not evidence: reviews and evidence decide closure)\n", c.ID, c.Task)
				})
			}
		},
	})
	register(&command{
		name: "claim list", summary: "List what was claimed about a task", args: "KEY|--task KEY",
		example: `fairway claim list OPS-FIX-001`,
		setup: withTask(func(a *app, key string) error {
			svc, ctx, err := a.connect()
			if err != nil {
				return err
			}
			list, err := svc.ListClaims(ctx, key)
			if err != nil {
				return err
			}
			return a.output(list, func(w io.Writer) {
				if len(list) == 0 {
					fmt.Fprintln(w, "no claims")
				}
				for _, c := range list {
					fmt.Fprintf(w, "%s  %s (%s) claims: %s\n", fmtTime(c.At), c.Actor, c.ActorKind, oneLine(c.Text))
				}
			})
		}),
	})
}

func printScan(w io.Writer, e *fairway.Evidence) {
	switch {
	case e.Scan.Redacted:
		fmt.Fprintf(w, "  secrets redacted before storing:")
		for _, f := range e.Scan.Findings {
			fmt.Fprintf(w, " %s (%s line %d col %d)", f.Rule, f.Part, f.Line, f.Column)
		}
		fmt.Fprintln(w)
	case !e.Scan.Scanned:
		fmt.Fprintf(w, "  secret scan skipped: %s\n", e.Scan.Skipped)
	}
	if e.Summary != nil {
		fmt.Fprintf(w, "  %s\n", report.String(e.Summary))
	}
}

func printEvidence(w io.Writer, e *fairway.Evidence) {
	fmt.Fprintf(w, "%s  %s evidence for %s\n", e.ID, e.Kind, e.Task)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  digest:\t%s\n  size:\t%d bytes\n  media type:\t%s\n", e.Digest, e.Size, e.MediaType)
	if e.Filename != "" {
		fmt.Fprintf(tw, "  file:\t%s\n", oneLine(e.Filename))
	}
	fmt.Fprintf(tw, "  recorded:\t%s by %s (%s)\n", fmtTime(e.RecordedAt), e.RecordedBy, e.RecordedByKind)
	if e.Note != "" {
		fmt.Fprintf(tw, "  note:\t%s\n", oneLine(e.Note))
	}
	if e.Supersedes != "" {
		fmt.Fprintf(tw, "  supersedes:\t%s\n", e.Supersedes)
	}
	if e.Kind == fairway.EvidenceContext {
		fmt.Fprintf(tw, "  counts as proof:\tno (context only)\n")
	}
	if c := e.Command; c != nil {
		fmt.Fprintf(tw, "  command:\t%s\n  in:\t%s\n  exit code:\t%d\n", oneLine(strings.Join(c.Argv, " ")), oneLine(c.Dir), c.ExitCode)
		fmt.Fprintf(tw, "  ran:\t%s to %s (%s)\n", fmtTime(c.Started), fmtTime(c.Ended), c.Ended.Sub(c.Started).Round(1e6))
		if c.Interrupted {
			fmt.Fprintf(tw, "  interrupted:\tyes (%s)\n", c.Signal)
		}
		fmt.Fprintf(tw, "  stdout:\t%s (%d bytes)\n  stderr:\t%s (%d bytes)\n", orDash(c.StdoutDigest), c.StdoutSize, orDash(c.StderrDigest), c.StderrSize)
	}
	if s := e.Source; s != nil {
		dirty := ""
		if s.Dirty {
			dirty = " (dirty)"
		}
		fmt.Fprintf(tw, "  source:\t%s%s %s\n", orDash(s.Commit), dirty, s.Branch)
	}
	if env := e.Environment; env != nil {
		fmt.Fprintf(tw, "  environment:\t%s/%s on %s, fingerprint %s\n", env.OS, env.Arch, env.Host, env.Fingerprint)
		for tool, v := range env.Tools {
			fmt.Fprintf(tw, "  tool %s:\t%s\n", tool, v)
		}
	}
	tw.Flush()
	printScan(w, e)
}

func fileDigest(f *os.File) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// errText drops the path prefix os errors repeat.
func errText(err error) string {
	var pe *os.PathError
	if ok := asPathError(err, &pe); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func asPathError(err error, pe **os.PathError) bool {
	p, ok := err.(*os.PathError)
	if ok {
		*pe = p
	}
	return ok
}

// spool copies r to a temporary file, removed when closed by the caller's
// cleanup, and returns it rewound.
func spool(r io.Reader) (*os.File, error) {
	f, err := os.CreateTemp("", "fairway-stdin-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // the open file stays readable; nothing is left behind
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
