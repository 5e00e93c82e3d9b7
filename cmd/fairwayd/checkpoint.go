package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"fairway"
	"fairway/tlog"
)

func init() {
	register(&command{
		name: "keys generate", summary: "Make a checkpoint signing key: the private key to a 0600 file, the public key printed", args: "--name ORIGIN --out FILE [--pub FILE]",
		example: `fairway keys generate --name fairway.example.com/audit --out audit.key --pub audit.pub`,
		setup: func(fs *flag.FlagSet) runFunc {
			name := fs.String("name", "", "the log's origin, which names the key (e.g. fairway.example.com/audit)")
			out := fs.String("out", "", "file to write the private key to (created with mode 0600; never overwritten)")
			pub := fs.String("pub", "", "also write the public verifier key to this file")
			return func(a *app, pos []string) error {
				if err := wantArgs(pos, 0, "no arguments"); err != nil {
					return err
				}
				if *out == "" {
					return fairway.FieldError("out", "is required: the file to keep the private key in")
				}
				skey, vkey, err := tlog.GenerateKey(*name)
				if err != nil {
					return err
				}
				if err := writeNew(*out, skey+"\n", 0o600); err != nil {
					return err
				}
				if *pub != "" {
					if err := writeNew(*pub, vkey+"\n", 0o644); err != nil {
						return err
					}
				}
				return a.output(map[string]string{"verifier_key": vkey, "key_file": *out}, func(w io.Writer) {
					fmt.Fprintf(w, "private key written to %s (keep it off the ledger's machine if you can)\nverifier key (publish it):\n%s\n", *out, vkey)
				})
			}
		},
	})
	register(&command{
		name: "audit checkpoint", summary: "Sign the audit tree's size and root as a C2SP checkpoint and store it", args: "--key FILE [--out FILE]",
		example: `fairway audit checkpoint --key audit.key --out audit.checkpoint
FAIRWAY_SIGNING_KEY=audit.key fairway audit checkpoint`,
		setup: func(fs *flag.FlagSet) runFunc {
			keyFile := fs.String("key", "", "private key file from `fairway keys generate` (default $FAIRWAY_SIGNING_KEY)")
			out := fs.String("out", "", "also write the signed checkpoint to this file")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				path := firstNonEmpty(*keyFile, a.getenv("FAIRWAY_SIGNING_KEY"))
				if path == "" {
					return fairway.FieldError("key", "is required: the private key file (or set FAIRWAY_SIGNING_KEY)")
				}
				skey, err := os.ReadFile(path)
				if err != nil {
					return fairway.FieldError("key", "%v", err)
				}
				head, err := svc.AuditTree(ctx)
				if err != nil {
					return err
				}
				signed, err := tlog.Sign(string(skey), head)
				if err != nil {
					return fairway.FieldError("key", "%v", err)
				}
				c, err := svc.PublishCheckpoint(ctx, &fairway.CheckpointInput{Note: signed.Note, VerifierKey: signed.VerifierKey})
				if err != nil {
					return err
				}
				if *out != "" {
					if err := os.WriteFile(*out, []byte(c.Note), 0o644); err != nil {
						return err
					}
				}
				return a.output(c, func(w io.Writer) { io.WriteString(w, c.Note) })
			}
		},
	})
	register(&command{
		name: "audit prove", summary: "Print an inclusion proof of one audit event, checked against a signed checkpoint", args: "SEQ | --seq N [--checkpoint FILE --key PUBKEY]",
		example: `fairway audit prove 12 --checkpoint audit.checkpoint --key audit.pub --json > event12.proof`,
		setup: func(fs *flag.FlagSet) runFunc {
			seq := fs.Int64("seq", 0, "the event's sequence number (required)")
			cpFile := fs.String("checkpoint", "", "prove against this signed checkpoint (default: the current tree, unsigned)")
			key := fs.String("key", "", "public verifier key, or a file holding it (required with --checkpoint)")
			return func(a *app, pos []string) error {
				if len(pos) == 1 && *seq == 0 {
					n, err := strconv.ParseInt(pos[0], 10, 64)
					if err != nil {
						return fairway.FieldError("seq", "%q is not a sequence number", pos[0])
					}
					*seq, pos = n, nil
				}
				svc, ctx, err := a.service(pos, 0, "SEQ or --seq N")
				if err != nil {
					return err
				}
				if *seq < 1 {
					return fairway.FieldError("seq", "is required: the sequence number of the event to prove (1 or more)")
				}
				var cp *fairway.Checkpoint
				if *cpFile != "" {
					if cp, err = openCheckpoint("checkpoint", *cpFile, *key); err != nil {
						return err
					}
				}
				size := int64(0)
				if cp != nil {
					size = cp.Size
				}
				p, err := svc.InclusionProof(ctx, *seq, size)
				if err != nil {
					return err
				}
				// Trust nothing the ledger sent but the proof's hashes: the
				// leaf is recomputed from the event, the root is the signed one.
				root := p.Root
				if cp != nil {
					root = cp.Root
				}
				if p.Event == nil || p.Event.Seq != *seq {
					return fairway.Errorf(fairway.ECONFLICT, "the ledger sent an event that is not event %d", *seq)
				}
				// The same check fairway-verify proof makes.
				against := &fairway.Checkpoint{Origin: "the current tree", Size: p.Size, Root: root}
				if cp != nil {
					against = cp
				}
				if err := tlog.CheckInclusion(p, against); err != nil {
					return fairway.Errorf(fairway.ECONFLICT, "event %d is NOT included in the tree of %d events: %v", *seq, p.Size, err)
				}
				return a.output(p, func(w io.Writer) {
					against := "the current tree (no signed checkpoint given)"
					if cp != nil {
						against = fmt.Sprintf("checkpoint %s/%d", cp.Origin, cp.Size)
					}
					fmt.Fprintf(w, "event %d (%s %s) is included in %s, root %s\n", p.Seq, p.Event.Action, p.Event.Subject, against, b64(root))
					for i, h := range p.Hashes {
						fmt.Fprintf(w, "  %2d %s\n", i, b64(h))
					}
				})
			}
		},
	})
	register(&command{
		name: "audit consistency", summary: "Prove that the log at one signed checkpoint extends the log at an older one", args: "OLD.checkpoint NEW.checkpoint --key PUBKEY | --from FILE --to FILE --key PUBKEY",
		example: `fairway audit consistency monday.checkpoint tuesday.checkpoint --key audit.pub`,
		setup: func(fs *flag.FlagSet) runFunc {
			fromFile := fs.String("from", "", "the older signed checkpoint (required)")
			toFile := fs.String("to", "", "the newer signed checkpoint (required)")
			key := fs.String("key", "", "public verifier key, or a file holding it (required)")
			return func(a *app, pos []string) error {
				if len(pos) == 2 && *fromFile == "" && *toFile == "" {
					*fromFile, *toFile, pos = pos[0], pos[1], nil
				}
				svc, ctx, err := a.service(pos, 0, "OLD.checkpoint NEW.checkpoint, or --from and --to")
				if err != nil {
					return err
				}
				from, err := openCheckpoint("from", *fromFile, *key)
				if err != nil {
					return err
				}
				to, err := openCheckpoint("to", *toFile, *key)
				if err != nil {
					return err
				}
				if from.Size > to.Size {
					return fairway.FieldError("from", "signs %d events, more than --to (%d): give the older checkpoint as --from", from.Size, to.Size)
				}
				p := &fairway.ConsistencyProof{From: from.Size, To: to.Size, FromRoot: from.Root, ToRoot: to.Root, Hashes: [][]byte{}}
				if from.Size > 0 && from.Size < to.Size {
					if p, err = svc.ConsistencyProof(ctx, from.Size, to.Size); err != nil {
						return err
					}
				}
				if err := tlog.VerifyConsistency(from.Size, to.Size, p.Hashes, from.Root, to.Root); err != nil {
					return fairway.Errorf(fairway.ECONFLICT, "checkpoint %d does NOT extend checkpoint %d: %v", to.Size, from.Size, err)
				}
				p.FromRoot, p.ToRoot = from.Root, to.Root
				return a.output(p, func(w io.Writer) {
					fmt.Fprintf(w, "the log at checkpoint %d extends the log at checkpoint %d (%d proof hashes)\n", to.Size, from.Size, len(p.Hashes))
				})
			}
		},
	})
	register(&command{
		name: "audit export", summary: "Write the whole audit log as JSON lines, for offline verification", args: "[--out FILE]",
		example: `fairway audit export --out audit.jsonl`,
		setup: func(fs *flag.FlagSet) runFunc {
			out := fs.String("out", "", "file to write (default standard output)")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				dst, err := a.createOut(*out)
				if err != nil {
					return err
				}
				defer dst.discard()
				bw := bufio.NewWriter(dst)
				n := 0
				err = eachEvent(svc, ctx, func(e *fairway.AuditEvent) error {
					n++
					b, err := json.Marshal(e)
					if err != nil {
						return err
					}
					bw.Write(b)
					return bw.WriteByte('\n')
				})
				if err != nil {
					return err
				}
				if err := bw.Flush(); err != nil {
					return err
				}
				if err := dst.commit(); err != nil {
					return err
				}
				if *out != "" {
					fmt.Fprintf(a.stderr, "exported %d events to %s\n", n, *out)
				}
				return nil
			}
		},
	})
	register(&command{
		name: "audit verify-export", summary: "Verify an exported log against a signed checkpoint, without opening any ledger", args: "FILE --checkpoint FILE --key PUBKEY",
		example: `fairway audit verify-export audit.jsonl --checkpoint audit.checkpoint --key audit.pub`,
		setup: func(fs *flag.FlagSet) runFunc {
			cpFile := fs.String("checkpoint", "", "signed checkpoint to verify against (required)")
			key := fs.String("key", "", "public verifier key, or a file holding it (required)")
			return func(a *app, pos []string) error {
				if err := wantArgs(pos, 1, "the exported log FILE"); err != nil {
					return err
				}
				cp, err := openCheckpoint("checkpoint", *cpFile, *key)
				if err != nil {
					return err
				}
				f, err := os.Open(pos[0])
				if err != nil {
					return err
				}
				defer f.Close()
				v, err := tlog.VerifyLog(f, []*fairway.Checkpoint{cp})
				if err != nil {
					return fairway.Errorf(fairway.EINVALID, "%s: %v", pos[0], err)
				}
				return reportLog(a, v, 0)
			}
		},
	})
}

// eachEvent streams the whole log through the service, page by page.
func eachEvent(svc fairway.Service, ctx context.Context, fn func(*fairway.AuditEvent) error) error {
	const page = 10000
	f := fairway.AuditFilter{Limit: page}
	for {
		events, err := svc.AuditLog(ctx, f)
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := fn(e); err != nil {
				return err
			}
			f.AfterSeq = e.Seq
		}
		if len(events) < page {
			return nil
		}
	}
}

// reportLog prints a checkpoint verification and fails when it failed.
func reportLog(a *app, v *tlog.Verification, skipped int) error {
	if err := a.output(v, func(w io.Writer) {
		if v.OK {
			fmt.Fprintf(w, "audit log matches its signed checkpoints %v: %d events, root %s\n", v.Checked, v.Events, b64(v.Root))
		} else {
			fmt.Fprintf(w, "audit log does NOT match its signed checkpoints, first at event %d: %s\n", v.FirstBadSeq, v.Problem)
		}
		if skipped > 0 {
			fmt.Fprintf(w, "(%d stored checkpoint(s) not signed by this key were ignored)\n", skipped)
		}
	}); err != nil {
		return err
	}
	if !v.OK {
		return fairway.Errorf(fairway.ECONFLICT, "the audit log does not match the signed checkpoint (first bad event %d)", v.FirstBadSeq)
	}
	return nil
}

// openCheckpoint reads and verifies a signed checkpoint file; flag names
// the flag that gave it.
func openCheckpoint(flag, file, key string) (*fairway.Checkpoint, error) {
	if file == "" {
		return nil, fairway.FieldError(flag, "is required: a signed checkpoint file (`fairway audit checkpoint --out FILE`)")
	}
	vkey, err := readVerifierKey(key)
	if err != nil {
		return nil, err
	}
	msg, err := os.ReadFile(file)
	if err != nil {
		return nil, fairway.FieldError(flag, "%v", err)
	}
	c, err := tlog.Open(msg, vkey)
	if err != nil {
		return nil, fairway.FieldError(flag, "%s: %v", file, err)
	}
	return c, nil
}

// readVerifierKey takes a verifier key or the name of a file holding one.
func readVerifierKey(key string) (string, error) {
	if key == "" {
		return "", fairway.FieldError("key", "is required: the public verifier key, or a file holding it")
	}
	vkey, err := tlog.ReadVerifierKey(key)
	if err != nil {
		return "", fairway.FieldError("key", "%v", err)
	}
	return vkey, nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path, content string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fairway.Errorf(fairway.ECONFLICT, "%s exists already; choose another file (a key is never overwritten)", path)
	} else if err != nil {
		return err
	}
	if _, err := io.WriteString(f, content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
