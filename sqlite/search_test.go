package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fairway/blob"
	"fairway/demo"
	"fairway/ledger"
	"fairway/sqlite"
)

// The search migration indexes a ledger written before it exactly as the
// store indexes each write: rebuilding search_docs with the migration's
// backfill gives back the same rows.
func TestSearchMigration_BackfillMatchesTheStoresOwnIndex(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fairway.db")
	store, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Load(context.Background(), ledger.New(store, blobs)); err != nil {
		t.Fatal(err)
	}
	store.Close()
	migration, err := os.ReadFile(filepath.Join("migrations", "0009_search.sql"))
	if err != nil {
		t.Fatal(err)
	}
	backfill := string(migration[strings.Index(string(migration), "-- Index what a ledger already holds"):])

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	docs := func() []string {
		rows, err := db.Query(`SELECT kind || ' ' || id || ' ' || task || ' ' || body FROM search_docs`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		slices.Sort(out)
		return out
	}
	written := docs()
	if len(written) < 20 {
		t.Fatalf("the demo indexed only %d records", len(written))
	}
	if _, err := db.Exec(`DELETE FROM search_docs; ` + backfill); err != nil {
		t.Fatal(err)
	}
	if rebuilt := docs(); !slices.Equal(written, rebuilt) {
		for i := range min(len(written), len(rebuilt)) {
			if written[i] != rebuilt[i] {
				t.Fatalf("first difference:\n store    %q\n backfill %q", written[i], rebuilt[i])
			}
		}
		t.Fatalf("%d rows written, %d rebuilt", len(written), len(rebuilt))
	}
	var hits int
	if err := db.QueryRow(`SELECT count(*) FROM search_fts WHERE search_fts MATCH '"tunnel"'`).Scan(&hits); err != nil || hits == 0 {
		t.Fatalf("the rebuilt FTS index finds %d (%v)", hits, err)
	}
}
