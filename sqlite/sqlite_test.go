package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"fairway"
	"fairway/sqlite"
	"fairway/storetest"
)

// MustOpenStore opens a store in a temporary folder, closed at the end of
// the test.
func MustOpenStore(tb testing.TB, opts sqlite.Options) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "fairway.db"), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) fairway.Store { return MustOpenStore(t, sqlite.Options{}) })
}

func TestConformance_WithoutGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T) fairway.Store { return MustOpenStore(t, sqlite.Options{MaxBatch: 1}) })
}
