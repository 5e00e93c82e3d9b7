package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"fairway"
	"fairway/attest"
)

func init() {
	register(&command{
		name: "evidence export", summary: "Export a task's evidence as signed in-toto statements in DSSE envelopes (JSON lines)", args: "--task KEY --key FILE [--out FILE]",
		example: `fairway evidence export --task OPS-FIX-001 --key audit.key --out OPS-FIX-001.intoto.jsonl`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "the task whose evidence to export (required)")
			keyFile := fs.String("key", "", "private key file from `fairway keys generate` (default $FAIRWAY_SIGNING_KEY)")
			out := fs.String("out", "", "file to write (default standard output)")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				if *task == "" {
					return fairway.FieldError("task", "is required: the task whose evidence to export")
				}
				path := firstNonEmpty(*keyFile, a.getenv("FAIRWAY_SIGNING_KEY"))
				if path == "" {
					return fairway.FieldError("key", "is required: the private key file (or set FAIRWAY_SIGNING_KEY)")
				}
				skey, err := readSigningKey("key", path)
				if err != nil {
					return err
				}
				list, err := svc.ListEvidence(ctx, fairway.EvidenceFilter{Task: *task})
				if err != nil {
					return err
				}
				dst, err := a.createOut(*out)
				if err != nil {
					return err
				}
				defer dst.discard()
				bw := bufio.NewWriter(dst)
				for _, e := range list {
					st, err := attest.Evidence(e)
					if err != nil {
						return fmt.Errorf("evidence %s: %w", e.ID, err)
					}
					env, err := attest.Sign(st, skey)
					if err != nil {
						return err
					}
					b, _ := json.Marshal(env)
					bw.Write(b)
					bw.WriteByte('\n')
				}
				if err := bw.Flush(); err != nil {
					return err
				}
				if err := dst.commit(); err != nil {
					return err
				}
				if *out != "" {
					fmt.Fprintf(a.stderr, "exported %d attestation(s) of %s to %s\n", len(list), *task, *out)
				}
				return nil
			}
		},
	})
	register(&command{
		name: "evidence verify-attestation", summary: "Verify exported evidence attestations with a public key, offline", args: "FILE --key PUBKEY",
		example: `fairway evidence verify-attestation OPS-FIX-001.intoto.jsonl --key audit.pub`,
		setup: func(fs *flag.FlagSet) runFunc {
			key := fs.String("key", "", "public verifier key, or a file holding it (required)")
			return func(a *app, pos []string) error {
				if err := wantArgs(pos, 1, "the attestation FILE"); err != nil {
					return err
				}
				vkey, err := readVerifierKey(*key)
				if err != nil {
					return err
				}
				f, err := os.Open(pos[0])
				if err != nil {
					return err
				}
				defer f.Close()
				var statements []*attest.Statement
				dec := json.NewDecoder(bufio.NewReader(f))
				for n := 1; ; n++ {
					var env attest.Envelope
					if err := dec.Decode(&env); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						return fairway.Errorf(fairway.EINVALID, "%s: envelope %d: %v", pos[0], n, err)
					}
					st, err := attest.Verify(&env, vkey)
					if err != nil {
						return fairway.Errorf(fairway.ECONFLICT, "%s: envelope %d does not verify: %v", pos[0], n, err)
					}
					statements = append(statements, st)
				}
				if len(statements) == 0 {
					return fairway.Errorf(fairway.EINVALID, "%s holds no attestation", pos[0])
				}
				return a.output(statements, func(w io.Writer) {
					for _, st := range statements {
						for _, s := range st.Subject {
							fmt.Fprintf(w, "verified %s sha256:%s (%s)\n", s.Name, s.Digest["sha256"], st.PredicateType)
						}
					}
				})
			}
		},
	})
}
