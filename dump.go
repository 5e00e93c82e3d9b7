package fairway

// LedgerTables are the tables that hold a ledger, in the order a copy
// loads them (each after those it refers to). Every store keeps exactly
// these (the storetest suite checks), so an export carries everything.
// Derived indexes inside a store (SQLite's FTS5 index) are rebuilt from
// these rows, not copied.
var LedgerTables = []string{
	"actors", "tokens", "lanes", "tasks", "dependencies", "audit_events", "audit_head",
	"evidence", "claims", "reviews", "waivers", "policies", "narrowings", "sessions",
	"session_observations", "deploy_runs", "merkle_nodes", "audit_checkpoints", "search_docs",
	"scope_records",
}

// DumpTx copies a whole ledger out of a store and into another, row by
// row, whatever the stores: the way a ledger moves between stores and is
// kept offline.
type DumpTx interface {
	// Tables lists the store's own ledger tables, without its migration
	// bookkeeping and derived indexes.
	Tables() ([]string, error)
	// DumpTable streams a table's rows: its column names, then for each
	// row its values as int64, float64, bool, string, []byte or nil.
	DumpTable(table string, fn func(columns []string, row []any) error) error
	// LoadRow inserts one row as given, each value converted to its
	// column's type (a bool into an integer column as 0 or 1, and back).
	// Loading audit_head replaces the head an empty store starts with.
	LoadRow(table string, columns []string, row []any) error
	// FinishLoad moves the store's ID generators past the loaded rows,
	// and brings rows from an export of an older schema up to this one.
	FinishLoad() error
}
