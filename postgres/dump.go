package postgres

import (
	"fmt"
	"slices"
	"strings"

	"fairway"
)

// Tables lists the ledger's tables in the current schema, without the
// migration bookkeeping.
func (t *tx) Tables() ([]string, error) {
	rows, err := t.query(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY table_name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, t.note(rows.Err())
}

// columns returns a table's stored (not generated) columns in order, with
// their types.
func (t *tx) columns(table string) ([]string, map[string]string, error) {
	if !slices.Contains(fairway.LedgerTables, table) {
		return nil, nil, fmt.Errorf("%q is not a ledger table", table)
	}
	rows, err := t.query(`SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var names []string
	types := map[string]string{}
	for rows.Next() {
		var n, typ string
		if err := rows.Scan(&n, &typ); err != nil {
			return nil, nil, err
		}
		names = append(names, n)
		types[n] = typ
	}
	return names, types, t.note(rows.Err())
}

// DumpTable streams a table's stored columns; generated ones (the search
// tsvector) are rebuilt on load.
func (t *tx) DumpTable(table string, fn func(columns []string, row []any) error) error {
	cols, _, err := t.columns(table)
	if err != nil {
		return err
	}
	rows, err := t.query(`SELECT ` + strings.Join(cols, ", ") + ` FROM ` + table + ` ORDER BY 1`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		for i, v := range vals {
			switch x := v.(type) {
			case int16:
				vals[i] = int64(x)
			case int32:
				vals[i] = int64(x)
			}
		}
		if err := fn(cols, vals); err != nil {
			return err
		}
	}
	return t.note(rows.Err())
}

// LoadRow inserts one row, integers into boolean columns as bools.
func (t *tx) LoadRow(table string, columns []string, row []any) error {
	if len(columns) != len(row) {
		return fmt.Errorf("%s: %d columns but %d values", table, len(columns), len(row))
	}
	_, types, err := t.columns(table)
	if err != nil {
		return err
	}
	vals := make([]any, len(row))
	ph := make([]string, len(row))
	for i, c := range columns {
		typ, ok := types[c]
		if !ok {
			return fmt.Errorf("%s has no column %s in this store", table, c)
		}
		vals[i], ph[i] = row[i], fmt.Sprintf("$%d", i+1)
		switch v := row[i].(type) {
		case int64:
			if typ == "boolean" {
				vals[i] = v != 0
			}
		case bool:
			if typ != "boolean" && v {
				vals[i] = int64(1)
			} else if typ != "boolean" {
				vals[i] = int64(0)
			}
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
	_, err = t.exec(`INSERT INTO `+table+` (`+strings.Join(columns, ", ")+`) VALUES (`+strings.Join(ph, ", ")+`)`, vals...)
	return err
}

// FinishLoad brings rows from an export of an older schema up to this
// one (upgradeLoaded), and moves every identity and serial sequence past
// the largest loaded ID, so the next insert does not collide with a
// copied row.
func (t *tx) FinishLoad() error {
	for _, q := range upgradeLoaded {
		if _, err := t.exec(q); err != nil {
			return err
		}
	}
	tables, err := t.queryStrings(`SELECT table_name::text FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'id' AND table_name::text = ANY($1) ORDER BY 1`, fairway.LedgerTables)
	if err != nil {
		return err
	}
	for _, table := range tables {
		var seq *string
		if err := t.queryRow(`SELECT pg_get_serial_sequence(quote_ident(current_schema()) || '.' || quote_ident($1), 'id')`, table).Scan(&seq); err != nil {
			return err
		}
		if seq == nil {
			continue
		}
		if _, err := t.exec(`SELECT setval($1::regclass, COALESCE((SELECT MAX(id) FROM `+table+`), 0) + 1, false)`, *seq); err != nil {
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
	  FROM (SELECT actor, change::jsonb ->> 'token_hash' AS h FROM audit_events
	        WHERE action IN ('actor.create', 'token.rotate')) AS e
	  WHERE tokens.issued_by = '' AND tokens.login = 0 AND e.h = tokens.hash`,
}
