package ledger

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"fairway"
)

// ExportFormat names the JSON Lines layout Export writes: a header line,
// then for each table a line naming it and its columns, then one line per
// row. Bytes are {"b": base64}; integers are written whole.
const ExportFormat = "fairway-export-1"

type exportLine struct {
	Format string   `json:"format,omitempty"`
	Tables []string `json:"tables,omitempty"`
	Table  string   `json:"table,omitempty"`
	Cols   []string `json:"columns,omitempty"`
	Row    []any    `json:"row,omitempty"`
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
		return nil
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

// Import loads an export into an empty store in one transaction, then
// verifies the audit chain, the Merkle tree and every row the gate reads
// against its event, in that transaction: a ledger that does not verify is
// refused and nothing is kept. open is called again if the store retries
// the transaction. Nothing is audited: the copy's head must be the
// original's.
func (l *Ledger) Import(ctx context.Context, open func() (io.ReadCloser, error), progress Progress) (*fairway.AuditVerification, error) {
	var res *fairway.AuditVerification
	err := l.store.Update(ctx, func(tx fairway.Tx) error {
		res = nil
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
			if err := tx.LoadRow(table, cols, row); err != nil {
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
