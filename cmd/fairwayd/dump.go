package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"fairway/ledger"
	"fairway/sqlite"
)

func init() {
	register(&command{
		name: "export", summary: "Write a task's signed evidence packet (TASK --out DIR), or the whole ledger as JSON Lines (--jsonl)", args: "TASK --out DIR [--key FILE] | --jsonl [--out FILE]",
		example: `fairway export OPS-FIX-001 --out OPS-FIX-001.packet --key audit.key   # then: fairway-verify packet OPS-FIX-001.packet --key audit.pub
fairway export --jsonl --out ledger.jsonl                 # an offline copy of the whole ledger, evidence bytes included
fairway export --jsonl --evidence-bytes=false > records.jsonl  # records and digests only`,
		setup: func(fs *flag.FlagSet) runFunc {
			jsonl := fs.Bool("jsonl", false, "the whole ledger as JSON Lines")
			out := fs.String("out", "", "the packet's folder (with TASK); the file to write with --jsonl (default standard output)")
			key := fs.String("key", "", "with TASK: private key file from `fairway keys generate` (default $FAIRWAY_SIGNING_KEY)")
			withBytes := fs.Bool("evidence-bytes", true, "with --jsonl: carry every evidence part's bytes after the tables, checked against their digests")
			return func(a *app, pos []string) error {
				if len(pos) == 1 && !*jsonl {
					return exportPacket(a, pos[0], *out, *key)
				}
				if err := wantArgs(pos, 0, "TASK, or no arguments with --jsonl"); err != nil {
					return err
				}
				if !*jsonl {
					return usagef("say TASK --out DIR for a task's evidence packet, or --jsonl for the whole ledger")
				}
				if a.remote() {
					return usagef("export reads a local store (--dir or $FAIRWAY_DIR), not a server: it carries token hashes")
				}
				if err := a.requireStore(); err != nil {
					return err
				}
				l, err := a.openLedger(sqlite.Options{})
				if err != nil {
					return err
				}
				dst, err := a.createOut(*out)
				if err != nil {
					return err
				}
				defer dst.discard()
				if err := l.ExportWith(a.ctx, dst, ledger.ExportOptions{Blobs: *withBytes, Progress: a.progress("exported")}); err != nil {
					return err
				}
				return dst.commit()
			}
		},
	})
	register(&command{
		name: "import", summary: "Load an export (and its evidence bytes) into an empty store; refused unless the audit chain verifies", args: "FILE",
		example: `fairway import ledger.jsonl --dir ./copy   # then: fairway audit verify --dir ./copy`,
		setup: noFlags(func(a *app, pos []string) error {
			if err := wantArgs(pos, 1, "FILE"); err != nil {
				return err
			}
			if a.remote() {
				return usagef("import writes a local store (--dir or $FAIRWAY_DIR), not a server")
			}
			if _, err := os.Stat(pos[0]); err != nil {
				return usagef("cannot read %s: %v", pos[0], err)
			}
			l, err := a.openLedger(sqlite.Options{})
			if err != nil {
				return err
			}
			res, err := l.Import(a.ctx, func() (io.ReadCloser, error) { return os.Open(pos[0]) }, a.progress("imported"))
			if err != nil {
				return err
			}
			return a.output(res, func(w io.Writer) {
				fmt.Fprintf(w, "imported %d audit events; chain, tree and rows verify; head %d %s\n", res.Events, res.Head.Seq, res.Head.Hash)
			})
		}),
	})
}

// progress reports copied rows on standard error, one line per table and
// every thousand rows, never on standard output where the export goes.
func (a *app) progress(verb string) ledger.Progress {
	return func(table string, n int64) {
		if table == "blobs" {
			fmt.Fprintf(a.stderr, "%s %d evidence blobs\n", verb, n)
			return
		}
		fmt.Fprintf(a.stderr, "%s %d rows of %s\n", verb, n, table)
	}
}
