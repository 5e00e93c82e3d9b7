package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"fairway"
	"fairway/postgres"
	"fairway/storetest"

	"github.com/jackc/pgx/v5"
)

// envURL names the variable holding the test server's URL.
const envURL = "FAIRWAY_TEST_POSTGRES"

// testURL returns the server to test against, skipping the test when none
// is configured.
func testURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(envURL)
	if url == "" {
		tb.Skipf("PostgreSQL tests need a server: set %s (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)", envURL)
	}
	return url
}

// MustNewSchema names a fresh schema for one test and drops it, with
// everything in it, when the test ends. The stores create it on open.
func MustNewSchema(tb testing.TB) string {
	tb.Helper()
	url := testURL(tb)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "fairway_test_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// MustOpenSchema opens a store on schema, closed at the end of the test
// (before the schema is dropped).
func MustOpenSchema(tb testing.TB, schema string, opts postgres.Options) *postgres.Store {
	tb.Helper()
	opts.Schema = schema
	s, err := postgres.Open(context.Background(), testURL(tb), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// MustOpenStore opens a store on a schema of its own.
func MustOpenStore(tb testing.TB, opts postgres.Options) *postgres.Store {
	tb.Helper()
	return MustOpenSchema(tb, MustNewSchema(tb), opts)
}

func TestConformance(t *testing.T) {
	testURL(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) fairway.Store { return MustOpenStore(t, postgres.Options{}) })
}

func TestConformance_WithoutGroupCommit(t *testing.T) {
	testURL(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) fairway.Store { return MustOpenStore(t, postgres.Options{MaxBatch: 1}) })
}
