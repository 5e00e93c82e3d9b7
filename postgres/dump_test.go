package postgres_test

import (
	"context"
	"path/filepath"
	"testing"

	"fairway"
	"fairway/postgres"
	"fairway/sqlite"
	"fairway/storetest"
)

// A ledger moves from the embedded store to PostgreSQL through an export
// with the same audit head, Merkle tree and rows.
func TestExportImport_SQLiteToPostgres(t *testing.T) {
	testURL(t)
	from, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { from.Close() })
	storetest.RoundTrip(t, from, MustOpenStore(t, postgres.Options{}), false)
}

// An export made before tokens had ids imports into PostgreSQL, and its
// tokens get them.
func TestImport_TokensFromBeforeIDs(t *testing.T) {
	testURL(t)
	from, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { from.Close() })
	storetest.ImportsTokensFromBeforeIDs(t, from, MustOpenStore(t, postgres.Options{}))
}

// An export of a log from before the tree, made before the head said
// where the tree began, imports into PostgreSQL.
func TestImport_ALogFromBeforeTheTree(t *testing.T) {
	testURL(t)
	storetest.ImportsALogFromBeforeTheTree(t, MustOpenStore(t, postgres.Options{}), func() fairway.Store { return MustOpenStore(t, postgres.Options{}) })
}
