package ledger

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"fairway"
)

// ExportFormat names the JSON Lines layout Export writes: a header line,
// then for each table a line naming it and its columns, then one line per
// row. Bytes are {"b": base64}; integers are written whole. With evidence
// bytes, each blob follows the tables as a line naming its digest and
// size, then its bytes in base64 chunk lines.
const ExportFormat = "fairway-export-1"

// blobChunk is how many bytes of a blob one export line carries.
const blobChunk = 256 << 10

type exportLine struct {
	Format string   `json:"format,omitempty"`
	Tables []string `json:"tables,omitempty"`
	Table  string   `json:"table,omitempty"`
	Cols   []string `json:"columns,omitempty"`
	Row    []any    `json:"row,omitempty"`
	// Blob and Size start a blob's bytes; Chunk carries them.
	Blob  string `json:"blob,omitempty"`
	Size  int64  `json:"size,omitempty"`
	Chunk []byte `json:"chunk,omitempty"`
}

// ExportOptions choose what an export carries besides the tables.
type ExportOptions struct {
	// Blobs adds the bytes of every evidence part, so that an import
	// restores evidence that `evidence verify` passes, not only records.
	Blobs    bool
	Progress Progress
}

type exportBytes struct {
	B string `json:"b"`
}

// Progress is told how many rows of a table have been copied so far.
type Progress func(table string, rows int64)

// Export writes the whole ledger, every table, from one consistent read,
// streaming row by row. It is for whoever holds the store itself (it
// carries token hashes): it is not offered over the network.
func (l *Ledger) Export(ctx context.Context, out io.Writer, progress Progress) error {
	return l.ExportWith(ctx, out, ExportOptions{Progress: progress})
}

// ExportWith writes the whole ledger as Export does and, when asked, the
// evidence bytes after the tables, all from one consistent read.
func (l *Ledger) ExportWith(ctx context.Context, out io.Writer, opt ExportOptions) error {
	progress := opt.Progress
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		if err := enc.Encode(exportLine{Format: ExportFormat, Tables: fairway.LedgerTables}); err != nil {
			return err
		}
		for _, table := range fairway.LedgerTables {
			var n int64
			named := false
			err := tx.DumpTable(table, func(cols []string, row []any) error {
				if !named {
					named = true
					if err := enc.Encode(exportLine{Table: table, Cols: cols}); err != nil {
						return err
					}
				}
				for i, v := range row {
					if b, ok := v.([]byte); ok {
						row[i] = exportBytes{base64.StdEncoding.EncodeToString(b)}
					}
				}
				if row == nil {
					row = []any{}
				}
				n++
				if progress != nil && n%1000 == 0 {
					progress(table, n)
				}
				return enc.Encode(exportLine{Row: row})
			})
			if err != nil {
				return fmt.Errorf("export %s: %w", table, err)
			}
			if progress != nil {
				progress(table, n)
			}
		}
		if opt.Blobs {
			return l.exportBlobs(ctx, tx, enc, progress)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

// exportBlobs writes each distinct evidence blob once, in chunks, checking
// that the bytes still hash to their digest: an export never carries
// bytes its records would not vouch for.
func (l *Ledger) exportBlobs(ctx context.Context, tx fairway.Tx, enc *json.Encoder, progress Progress) error {
	list, err := tx.EvidenceList(fairway.EvidenceFilter{})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var n int64
	buf := make([]byte, blobChunk)
	for _, e := range list {
		for _, part := range []string{fairway.PartContent, fairway.PartStdout, fairway.PartStderr} {
			d, _ := partDigest(e, part)
			if d == "" || seen[d] {
				continue
			}
			seen[d] = true
			if err := exportBlob(ctx, l.Blobs, enc, d, buf); err != nil {
				return fmt.Errorf("export the bytes of evidence %s (%s): %w", e.ID, part, err)
			}
			n++
			if progress != nil && n%100 == 0 {
				progress("blobs", n)
			}
		}
	}
	if progress != nil {
		progress("blobs", n)
	}
	return nil
}

func exportBlob(ctx context.Context, blobs fairway.BlobStore, enc *json.Encoder, digest string, buf []byte) error {
	size, err := blobs.Stat(ctx, digest)
	if err != nil {
		return err
	}
	r, err := blobs.Open(ctx, digest)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := enc.Encode(exportLine{Blob: digest, Size: size}); err != nil {
		return err
	}
	h := sha256.New()
	var done int64
	for {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			h.Write(buf[:k])
			done += int64(k)
			if err := enc.Encode(exportLine{Chunk: buf[:k]}); err != nil {
				return err
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest || done != size {
		return fmt.Errorf("the stored bytes hash to %s (%d bytes), not %s (%d bytes): run `fairway evidence verify`", got, done, digest, size)
	}
	return nil
}

// Import loads an export into an empty store in one transaction, then
// verifies the audit chain, the Merkle tree and every row the gate reads
// against its event, in that transaction: a ledger that does not verify is
// refused and nothing is kept. open is called again if the store retries
// the transaction. Nothing is audited: the copy's head must be the
// original's.
func (l *Ledger) Import(ctx context.Context, open func() (io.ReadCloser, error), progress Progress) (*fairway.AuditVerification, error) {
	// Evidence bytes go to the blob store first, outside the transaction
	// (no blob I/O while the store's writers wait), and only into a store
	// that is empty: a refused import leaves nothing behind but
	// content-addressed bytes nothing points at.
	if err := l.store.View(ctx, requireEmpty); err != nil {
		return nil, err
	}
	if err := l.importBlobs(ctx, open, progress); err != nil {
		return nil, err
	}
	var res *fairway.AuditVerification
	err := l.store.Update(ctx, func(tx fairway.Tx) error {
		res = nil
		if err := requireEmpty(tx); err != nil {
			return err
		}
		r, err := open()
		if err != nil {
			return err
		}
		defer r.Close()
		if err := loadRows(tx, r, progress); err != nil {
			return err
		}
		if err := tx.FinishLoad(); err != nil {
			return err
		}
		if res, err = verifyAudit(tx); err != nil {
			return err
		}
		if !res.OK {
			return fairway.Errorf(fairway.EINVALID, "the imported ledger does not verify, so nothing was imported: %s (event %d)", res.Problem, res.FirstBadSeq)
		}
		return nil
	})
	return res, err
}

func requireEmpty(tx fairway.Tx) error {
	head, err := tx.AuditHead()
	if err != nil {
		return err
	}
	actors, err := tx.CountActors()
	if err != nil {
		return err
	}
	if head.Seq != 0 || actors != 0 {
		return fairway.Errorf(fairway.ECONFLICT, "the store already holds a ledger (%d audit events, %d actors); import only into an empty store", head.Seq, actors)
	}
	return nil
}

// importBlobs stores the evidence bytes an export carries, each checked
// against the digest and size it is named by before it is committed.
func (l *Ledger) importBlobs(ctx context.Context, open func() (io.ReadCloser, error), progress Progress) error {
	r, err := open()
	if err != nil {
		return err
	}
	defer r.Close()
	dec := json.NewDecoder(bufio.NewReader(r))
	var (
		cur       fairway.BlobWriter
		want      string
		wantSize  int64
		n, line   int64
		blobsSeen bool
	)
	finish := func() error {
		if cur == nil {
			return nil
		}
		w := cur
		cur = nil
		if w.Digest() != want || w.Size() != wantSize {
			w.Abort()
			return fairway.Errorf(fairway.EINVALID, "line %d: the bytes of blob %s hash to %s (%d bytes, %d announced): the export is damaged", line, want, w.Digest(), w.Size(), wantSize)
		}
		if _, err := w.Commit(ctx); err != nil {
			return err
		}
		n++
		if progress != nil && n%100 == 0 {
			progress("blobs", n)
		}
		return nil
	}
	defer func() {
		if cur != nil {
			cur.Abort()
		}
	}()
	for {
		var el exportLine
		err := dec.Decode(&el)
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return fairway.Errorf(fairway.EINVALID, "line %d: %v", line, err)
		}
		switch {
		case el.Blob != "":
			if err := finish(); err != nil {
				return err
			}
			if err := fairway.ValidateDigest("blob", el.Blob); err != nil {
				return fairway.Errorf(fairway.EINVALID, "line %d: %v", line, err)
			}
			if cur, err = l.Blobs.Create(ctx); err != nil {
				return err
			}
			want, wantSize, blobsSeen = el.Blob, el.Size, true
		case el.Chunk != nil:
			if cur == nil {
				return fairway.Errorf(fairway.EINVALID, "line %d: blob bytes with no blob line before them", line)
			}
			if _, err := cur.Write(el.Chunk); err != nil {
				return err
			}
		case blobsSeen:
			return fairway.Errorf(fairway.EINVALID, "line %d: a table row after the evidence bytes", line)
		}
	}
	if err := finish(); err != nil {
		return err
	}
	if progress != nil && blobsSeen {
		progress("blobs", n)
	}
	return nil
}

func loadRows(tx fairway.Tx, r io.Reader, progress Progress) error {
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.UseNumber()
	var header exportLine
	if err := dec.Decode(&header); err != nil || header.Format != ExportFormat {
		return fairway.Errorf(fairway.EINVALID, "not a Fairway export (want a first line with format %q)", ExportFormat)
	}
	table, cols := "", []string(nil)
	var n, line int64 = 0, 1
	seen := map[string]bool{}
	for {
		var l exportLine
		err := dec.Decode(&l)
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return fairway.Errorf(fairway.EINVALID, "line %d: %v", line, err)
		}
		switch {
		case l.Blob != "" || l.Chunk != nil:
			// Evidence bytes, stored before this transaction began.
			continue
		case l.Table != "":
			if !slices.Contains(fairway.LedgerTables, l.Table) || seen[l.Table] {
				return fairway.Errorf(fairway.EINVALID, "line %d: %q is not a ledger table, or comes twice", line, l.Table)
			}
			if progress != nil && table != "" {
				progress(table, n)
			}
			seen[l.Table] = true
			table, cols, n = l.Table, l.Cols, 0
		case table == "":
			return fairway.Errorf(fairway.EINVALID, "line %d: a row before any table", line)
		default:
			row, err := importValues(l.Row)
			if err != nil {
				return fairway.Errorf(fairway.EINVALID, "line %d: %v", line, err)
			}
			rowCols := cols
			if table == "audit_head" && !slices.Contains(cols, "tree_from") {
				rowCols, row = withTreeFrom(cols, row)
			}
			if err := tx.LoadRow(table, rowCols, row); err != nil {
				return fmt.Errorf("line %d (%s): %w", line, table, err)
			}
			n++
			if progress != nil && n%1000 == 0 {
				progress(table, n)
			}
		}
	}
	if progress != nil && table != "" {
		progress(table, n)
	}
	return nil
}

// withTreeFrom adds to an audit head from an export made before heads
// said where their tree began what migration 0019 gives a stored one: a
// head with no tree (a log written before it) began it after its last
// event, any other with its first.
func withTreeFrom(cols []string, row []any) ([]string, []any) {
	value := func(name string) any {
		if i := slices.Index(cols, name); i >= 0 && i < len(row) {
			return row[i]
		}
		return nil
	}
	var from int64
	size, _ := value("tree_size").(int64)
	rng, _ := value("tree_range").([]byte)
	if seq, ok := value("seq").(int64); ok && size == 0 && len(rng) == 0 {
		from = seq
	}
	return append(slices.Clip(cols), "tree_from"), append(slices.Clip(row), from)
}

// importValues turns decoded JSON values back into store values.
func importValues(row []any) ([]any, error) {
	out := make([]any, len(row))
	for i, v := range row {
		switch x := v.(type) {
		case json.Number:
			if n, err := x.Int64(); err == nil {
				out[i] = n
			} else if f, err := x.Float64(); err == nil {
				out[i] = f
			} else {
				return nil, fmt.Errorf("value %d: %v", i, err)
			}
		case map[string]any:
			s, ok := x["b"].(string)
			b, err := base64.StdEncoding.DecodeString(s)
			if !ok || err != nil || len(x) != 1 {
				return nil, fmt.Errorf("value %d: an object must be {\"b\": base64}", i)
			}
			out[i] = b
		case string, bool, nil:
			out[i] = x
		default:
			return nil, fmt.Errorf("value %d: unexpected %T", i, v)
		}
	}
	return out, nil
}
