package sqlite

import (
	"fmt"
	"slices"
	"strings"

	"fairway"
)

// Tables lists the ledger's tables: not the migration bookkeeping, not
// the FTS5 index and its shadow tables (rebuilt from search_docs).
func (t *tx) Tables() ([]string, error) {
	return t.queryStrings(`SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' AND name NOT LIKE 'search_fts%' ORDER BY name`)
}

func checkTable(table string) error {
	if !slices.Contains(fairway.LedgerTables, table) {
		return fmt.Errorf("%q is not a ledger table", table)
	}
	return nil
}

// DumpTable streams a table's rows in rowid (or primary key) order.
func (t *tx) DumpTable(table string, fn func(columns []string, row []any) error) error {
	if err := checkTable(table); err != nil {
		return err
	}
	// search_docs' rowid only links it to its FTS5 index, which a load
	// rebuilds: it is not part of the ledger.
	cols, err := t.queryStrings(`SELECT name FROM pragma_table_info(?) WHERE name <> 'rowid' ORDER BY cid`, table)
	if err != nil {
		return err
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+table)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(cols, vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// columnTypes returns a table's declared column types, upper case.
func (t *tx) columnTypes(table string) (map[string]string, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT name, type FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		out[name] = strings.ToUpper(typ)
	}
	return out, rows.Err()
}

// LoadRow inserts one row, bools as integers.
func (t *tx) LoadRow(table string, columns []string, row []any) error {
	if err := checkTable(table); err != nil {
		return err
	}
	if len(columns) != len(row) {
		return fmt.Errorf("%s: %d columns but %d values", table, len(columns), len(row))
	}
	types, err := t.columnTypes(table)
	if err != nil {
		return err
	}
	vals := make([]any, len(row))
	for i, c := range columns {
		typ, ok := types[c]
		if !ok {
			return fmt.Errorf("%s has no column %s in this store", table, c)
		}
		vals[i] = row[i]
		if b, isBool := row[i].(bool); isBool && strings.Contains(typ, "INT") {
			vals[i] = boolInt(b)
		}
	}
	if table == "audit_head" {
		if _, err := t.exec(`DELETE FROM audit_head`); err != nil {
			return err
		}
		if t.w != nil {
			t.w.head = nil // the head read before the load is gone
		}
	}
	_, err = t.exec(`INSERT INTO `+table+` (`+strings.Join(columns, ", ")+`) VALUES (`+strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ")+`)`, vals...)
	return err
}

// FinishLoad brings rows from an export of an older schema up to this
// one (upgradeLoaded); SQLite's rowids follow the largest by themselves.
func (t *tx) FinishLoad() error {
	for _, q := range upgradeLoaded {
		if _, err := t.exec(q); err != nil {
			return err
		}
	}
	return nil
}

// upgradeLoaded does to loaded rows what later migrations did to stored
// ones: an export made before migration 0015 carries tokens without an
// id, and their creation in seconds; one made before migration 0020,
// tokens without their issuer, which the event that issued each names.
var upgradeLoaded = []string{
	`UPDATE tokens SET id = substr(hash, 1, 16) WHERE id = ''`,
	`UPDATE tokens SET created_at = created_at * 1000000000 WHERE created_at < 100000000000`,
	`UPDATE tokens SET issued_by = e.actor
	  FROM (SELECT actor, json_extract(change, '$.token_hash') AS h FROM audit_events
	        WHERE action IN ('actor.create', 'token.rotate') AND json_valid(change)) AS e
	  WHERE tokens.issued_by = '' AND tokens.login = 0 AND e.h = tokens.hash`,
}
