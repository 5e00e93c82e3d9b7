package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fairway"
	"fairway/ledger"
	"fairway/sqlite"
	"fairway/storeurl"
)

// migrateResult is what `fairway migrate` reports.
type migrateResult struct {
	Target string            `json:"target"`
	Rows   map[string]int64  `json:"rows"`
	Events int64             `json:"events"`
	Head   fairway.AuditHead `json:"head"`
	// Blobs counts the evidence blobs copied to --blobs, and those the
	// target already held.
	Blobs       int    `json:"blobs_copied"`
	BlobsHeld   int    `json:"blobs_already_there"`
	BlobsTarget string `json:"blobs_target,omitempty"`
	// AlreadyCopied says the target held this ledger already, so only
	// missing blobs were copied.
	AlreadyCopied bool `json:"already_copied,omitempty"`
}

func init() {
	register(&command{
		name: "migrate", summary: "Copy the local SQLite ledger into an empty PostgreSQL store, verified, with its evidence bytes",
		args: "--to postgres://… [--blobs URL]",
		example: `fairway migrate --to 'postgres://fairway@db.internal:5432/fairway' --dir .fairway
fairway migrate --to "$DATABASE_URL" --blobs /srv/fairway/blobs   # also copy the evidence bytes`,
		setup: func(fs *flag.FlagSet) runFunc {
			to := fs.String("to", "", "the PostgreSQL store `URL` to copy into; it must hold no ledger yet")
			blobs := fs.String("blobs", "", "also copy every evidence blob into this blob store `URL` (a folder path or file:PATH)")
			return func(a *app, pos []string) error { return migrate(a, pos, *to, *blobs) }
		},
	})
}

func migrate(a *app, pos []string, to, blobsURL string) error {
	if err := wantArgs(pos, 0, "no arguments"); err != nil {
		return err
	}
	if a.remote() {
		return usagef("migrate reads a local store (--dir or $FAIRWAY_DIR), not a server")
	}
	if to == "" {
		return usagef("say where to copy the ledger: --to postgres://USER@HOST:PORT/DB")
	}
	target, err := storeurl.Parse(to)
	if err != nil {
		return fairway.FieldError("to", "%s", fairway.ErrorMessage(err))
	}
	if target.Kind != storeurl.Postgres {
		return fairway.FieldError("to", "%s is not PostgreSQL; migrate copies the local ledger into postgres://USER@HOST:PORT/DB", target)
	}
	// The source is the local store: $FAIRWAY_STORE may already name the
	// target (as it will for every command after the move), so a
	// PostgreSQL URL there means "the local store of --dir".
	source, err := a.storeLocation()
	if err != nil {
		return err
	}
	if source.Kind != storeurl.SQLite {
		a.store = "sqlite:" + a.storePath()
	}
	if err := a.requireStore(); err != nil {
		return err
	}
	var dstBlobs fairway.BlobStore
	if blobsURL != "" {
		// Shown from here on without the credentials its query may hold.
		if dstBlobs, blobsURL, err = migrateTargetBlobs(a.ctx, blobsURL, a.getenv); err != nil {
			return err
		}
	}

	src, err := a.openLedger(sqlite.Options{})
	if err != nil {
		return err
	}
	dstStore, err := storeurl.Open(a.ctx, target, storeurl.Options{})
	if err != nil {
		return err
	}
	defer dstStore.Close()
	dst := ledger.New(dstStore, nil)

	// Refuse a second run before reading anything: the target must be empty.
	head, err := dst.AuditTree(a.ctx)
	if err != nil {
		return err
	}
	if head.Size > 0 {
		srcHead, err := src.AuditTree(a.ctx)
		if err != nil {
			return err
		}
		same := srcHead.Size == head.Size && bytes.Equal(srcHead.Root, head.Root)
		if same && dstBlobs != nil {
			// The rows were copied by an earlier run whose blob copy may
			// not have finished: copy the blobs still missing, add no row.
			out := migrateResult{Target: target.String(), AlreadyCopied: true, Events: head.Size, BlobsTarget: blobsURL}
			if out.Blobs, out.BlobsHeld, err = migrateBlobs(a.ctx, src, dst, dstBlobs, newProgressBar(a.stderr)); err != nil {
				return err
			}
			return a.output(out, func(w io.Writer) {
				fmt.Fprintf(w, "%s already holds this ledger (same audit tree, %d events); no row was copied\n", out.Target, out.Events)
				fmt.Fprintf(w, "evidence blobs: %d copied, %d already in %s\n", out.Blobs, out.BlobsHeld, blobsURL)
			})
		}
		msg := fmt.Sprintf("%s already holds a ledger (%d audit events); migrate copies only into an empty store, so nothing was copied", target, head.Size)
		if same {
			msg += ": it holds this very ledger (same audit tree), so an earlier migrate already finished (run it again with --blobs to copy evidence bytes still missing)"
		}
		return fairway.Errorf(fairway.ECONFLICT, "%s", msg)
	}

	// The copy goes through export and import: one consistent read of the
	// source into a file, then one transaction on the target that verifies
	// the chain, the tree and every gate row before it commits.
	tmp, err := os.CreateTemp("", "fairway-migrate-*.jsonl")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	bar := newProgressBar(a.stderr)
	rows := map[string]int64{}
	if err := src.Export(a.ctx, tmp, func(table string, n int64) {
		rows[table] = n
		bar.show("reading", table, n, 0)
	}); err != nil {
		return fmt.Errorf("read the local ledger: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	var total int64
	for _, n := range rows {
		total += n
	}
	done := map[string]int64{}
	res, err := dst.Import(a.ctx, func() (io.ReadCloser, error) { return os.Open(tmp.Name()) }, func(table string, n int64) {
		done[table] = n
		var sum int64
		for _, d := range done {
			sum += d
		}
		bar.show("copying", table, sum, total)
	})
	bar.end()
	if err != nil {
		return fmt.Errorf("copy into %s: %w", target, err)
	}
	// Verify again from the committed store, and compare the heads.
	srcV, err := src.VerifyAudit(a.ctx)
	if err != nil {
		return err
	}
	dstV, err := dst.VerifyAudit(a.ctx)
	if err != nil {
		return err
	}
	srcTree, err := src.AuditTree(a.ctx)
	if err != nil {
		return err
	}
	dstTree, err := dst.AuditTree(a.ctx)
	if err != nil {
		return err
	}
	if !dstV.OK || dstV.Head.Seq != srcV.Head.Seq || dstV.Head.Hash != srcV.Head.Hash || !bytes.Equal(srcTree.Root, dstTree.Root) {
		return fairway.Errorf(fairway.EINTERNAL, "the copy does not match: source head %d %s, target head %d %s (%s)", srcV.Head.Seq, srcV.Head.Hash, dstV.Head.Seq, dstV.Head.Hash, dstV.Problem)
	}
	out := migrateResult{Target: target.String(), Rows: rows, Events: res.Events, Head: dstV.Head}
	if dstBlobs != nil {
		out.BlobsTarget = blobsURL
		if out.Blobs, out.BlobsHeld, err = migrateBlobs(a.ctx, src, dst, dstBlobs, bar); err != nil {
			return fmt.Errorf("the ledger was copied and verifies, but its evidence bytes were not all copied; once the cause is fixed, run the same migrate again: it copies only the missing blobs: %w", err)
		}
	}
	return a.output(out, func(w io.Writer) {
		fmt.Fprintf(w, "copied the ledger into %s; audit chain verifies, head %d %s (same as the source)\n", out.Target, out.Head.Seq, out.Head.Hash)
		for _, table := range fairway.LedgerTables {
			fmt.Fprintf(w, "  %-22s %8d rows\n", table, rows[table])
		}
		if dstBlobs != nil {
			fmt.Fprintf(w, "evidence blobs: %d copied, %d already in %s\n", out.Blobs, out.BlobsHeld, blobsURL)
		} else {
			fmt.Fprintf(w, "evidence bytes stay in %s; copy them with --blobs, or serve from this folder\n", filepath.Join(a.storeDir(), "blobs"))
		}
	})
}

// migrateTargetBlobs opens the blob store a --blobs URL names: a folder
// (a path or file:PATH) or a bucket (s3://BUCKET/PREFIX?endpoint=…).
func migrateTargetBlobs(ctx context.Context, raw string, getenv func(string) string) (fairway.BlobStore, string, error) {
	loc, err := storeurl.ParseBlobs(raw, getenv)
	if err != nil {
		return nil, "", err
	}
	s, err := storeurl.OpenBlobs(ctx, loc)
	return s, loc.String(), err
}

// migrateBlobs copies the evidence blobs of the ledger dst holds from
// src's blob store into dstBlobs.
func migrateBlobs(ctx context.Context, src, dst *ledger.Ledger, dstBlobs fairway.BlobStore, bar *progressBar) (copied, held int, err error) {
	digests, err := evidenceDigests(ctx, dst)
	if err != nil {
		return 0, 0, err
	}
	return copyBlobs(ctx, src.Blobs, dstBlobs, digests, bar)
}

// evidenceDigests lists the digest of every evidence record of l, once.
func evidenceDigests(ctx context.Context, l *ledger.Ledger) ([]string, error) {
	var out []string
	err := l.Store().View(ctx, func(tx fairway.Tx) error {
		seen := map[string]bool{}
		col := -1
		return tx.DumpTable("evidence", func(cols []string, row []any) error {
			if col < 0 {
				if col = slices.Index(cols, "digest"); col < 0 {
					return errors.New("the evidence table has no digest column")
				}
			}
			d, _ := row[col].(string)
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
			return nil
		})
	})
	return out, err
}

// copyBlobs copies each digest from src into dst through the BlobStore
// interface, skipping those dst holds already, and checks that what dst
// stored hashes to the digest it was read under.
func copyBlobs(ctx context.Context, src, dst fairway.BlobStore, digests []string, bar *progressBar) (copied, held int, err error) {
	for i, d := range digests {
		bar.show("blobs", d[:min(len(d), 19)], int64(i), int64(len(digests)))
		if _, err := dst.Stat(ctx, d); err == nil {
			held++
			continue
		} else if fairway.ErrorCode(err) != fairway.ENOTFOUND {
			return copied, held, err
		}
		if err := copyBlob(ctx, src, dst, d); err != nil {
			return copied, held, fmt.Errorf("blob %s: %w", d, err)
		}
		copied++
	}
	bar.show("blobs", "", int64(len(digests)), int64(len(digests)))
	bar.end()
	return copied, held, nil
}

func copyBlob(ctx context.Context, src, dst fairway.BlobStore, digest string) error {
	r, err := src.Open(ctx, digest)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := dst.Create(ctx)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Abort()
		return err
	}
	if w.Digest() != digest {
		w.Abort()
		return errors.New("the source's bytes hash to " + w.Digest() + ": the source blob store is damaged")
	}
	_, err = w.Commit(ctx)
	return err
}

// progressBar draws one updating line on a terminal, and prints plain
// counts, a line per step, anywhere else.
type progressBar struct {
	w    io.Writer
	tty  bool
	last string
	drew bool
}

func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	tty := false
	if ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, tty: tty}
}

// show reports n of total (total 0: unknown) done, in a step and table.
func (p *progressBar) show(step, table string, n, total int64) {
	if !p.tty {
		line := fmt.Sprintf("%s %s: %d", step, table, n)
		if total > 0 {
			line += fmt.Sprintf(" of %d", total)
		}
		if line != p.last {
			fmt.Fprintln(p.w, line)
			p.last = line
		}
		return
	}
	const width = 30
	bar := ""
	if total > 0 {
		filled := int(int64(width) * min(n, total) / total)
		bar = "[" + strings.Repeat("#", filled) + strings.Repeat(" ", width-filled) + "] "
		fmt.Fprintf(p.w, "\r\033[K%s%s %d/%d %s", bar, step, n, total, table)
	} else {
		fmt.Fprintf(p.w, "\r\033[K%s %s: %d rows", step, table, n)
	}
	p.drew = true
}

// end finishes a bar's line.
func (p *progressBar) end() {
	if p.tty && p.drew {
		fmt.Fprintln(p.w)
		p.drew = false
	}
}
