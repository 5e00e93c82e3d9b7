package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"fairway/ledger"
	"fairway/sqlite"
)

func init() {
	register(&command{
		name: "export", summary: "Write the whole ledger, every table, as JSON Lines (local store only)", args: "--jsonl [--out FILE]",
		example: `fairway export --jsonl --out ledger.jsonl                 # an offline copy, evidence bytes included
fairway export --jsonl --evidence-bytes=false > records.jsonl  # records and digests only`,
		setup: func(fs *flag.FlagSet) runFunc {
			jsonl := fs.Bool("jsonl", false, "JSON Lines, the one format (required)")
			out := fs.String("out", "", "write to this file (default standard output)")
			withBytes := fs.Bool("evidence-bytes", true, "carry every evidence part's bytes after the tables, checked against their digests")
			return func(a *app, pos []string) error {
				if err := wantArgs(pos, 0, "no arguments"); err != nil {
					return err
				}
				if !*jsonl {
					return usagef("say --jsonl: JSON Lines is the export format")
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
				w := a.stdout
				var f *os.File
				if *out != "" {
					// Write beside and rename, so a failed export leaves no half file.
					if f, err = os.CreateTemp(filepath.Dir(*out), ".fairway-export-*"); err != nil {
						return err
					}
					defer os.Remove(f.Name())
					defer f.Close()
					w = f
				}
				if err := l.ExportWith(a.ctx, w, ledger.ExportOptions{Blobs: *withBytes, Progress: a.progress("exported")}); err != nil {
					return err
				}
				if f != nil {
					if err := f.Close(); err != nil {
						return err
					}
					return os.Rename(f.Name(), *out)
				}
				return nil
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
