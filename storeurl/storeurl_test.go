package storeurl_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"fairway"
	"fairway/postgres"
	"fairway/sqlite"
	"fairway/storeurl"

	"github.com/jackc/pgx/v5"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw     string
		want    storeurl.Location
		shown   string
		wantErr string
	}{
		{raw: "postgres://fw@db.internal:5432/fairway?sslmode=require",
			want:  storeurl.Location{Kind: storeurl.Postgres, URL: "postgres://fw@db.internal:5432/fairway?sslmode=require"},
			shown: "postgres://fw@db.internal:5432/fairway?sslmode=require"},
		{raw: "postgresql://fw:s3cret@db/fairway",
			want:  storeurl.Location{Kind: storeurl.Postgres, URL: "postgresql://fw:s3cret@db/fairway"},
			shown: "postgresql://fw:xxxxx@db/fairway"},
		{raw: "postgres://db/fairway?password=s3cret",
			want:  storeurl.Location{Kind: storeurl.Postgres, URL: "postgres://db/fairway?password=s3cret"},
			shown: "postgres://db/fairway?password=xxxxx"},
		{raw: "postgres://fw@db/fairway?sslcert=fw.crt&sslpassword=keypass",
			want:  storeurl.Location{Kind: storeurl.Postgres, URL: "postgres://fw@db/fairway?sslcert=fw.crt&sslpassword=keypass"},
			shown: "postgres://fw@db/fairway?sslcert=fw.crt&sslpassword=xxxxx"},
		{raw: "sqlite:.fairway/fairway.db", want: storeurl.Location{Kind: storeurl.SQLite, Path: ".fairway/fairway.db"}, shown: "sqlite:.fairway/fairway.db"},
		{raw: "sqlite:///var/lib/fairway.db", want: storeurl.Location{Kind: storeurl.SQLite, Path: "/var/lib/fairway.db"}, shown: "sqlite:/var/lib/fairway.db"},
		{raw: "/var/lib/fairway.db", want: storeurl.Location{Kind: storeurl.SQLite, Path: "/var/lib/fairway.db"}, shown: "sqlite:/var/lib/fairway.db"},
		{raw: `C:\fairway\fairway.db`, want: storeurl.Location{Kind: storeurl.SQLite, Path: `C:\fairway\fairway.db`}, shown: `sqlite:C:\fairway\fairway.db`},
		{raw: "", wantErr: "store: is empty; give postgres://HOST/DB, sqlite:PATH or a file path"},
		{raw: "sqlite:", wantErr: "store: sqlite: needs a file path, e.g. sqlite:.fairway/fairway.db"},
		{raw: "postgres:fairway", wantErr: `store: "postgres:fairway" is not a PostgreSQL URL; write it as postgres://USER@HOST:PORT/DB`},
		{raw: "postgres:///fairway", wantErr: `store: "postgres:///fairway" names no host; write it as postgres://USER@HOST:PORT/DB`},
		{raw: "mysql://db/fairway", wantErr: `store: scheme "mysql" is not a store Fairway knows; use postgres://… or sqlite:PATH`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := storeurl.Parse(tt.raw)
			if tt.wantErr != "" {
				if fairway.ErrorCode(err) != fairway.EINVALID || err.Error() != tt.wantErr {
					t.Fatalf("Parse(%q) error = %v, want invalid %q", tt.raw, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
			}
			if s := got.String(); s != tt.shown {
				t.Fatalf("String() = %q, want %q", s, tt.shown)
			}
		})
	}
}

func TestOpen_SQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	loc, err := storeurl.Parse("sqlite:" + path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := storeurl.Open(context.Background(), loc, storeurl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ss, ok := s.(*sqlite.Store); !ok || ss.Path() != path {
		t.Fatalf("Open = %T, want *sqlite.Store at %s", s, path)
	}
}

func TestOpen_Postgres(t *testing.T) {
	url := os.Getenv("FAIRWAY_TEST_POSTGRES")
	if url == "" {
		t.Skip("set FAIRWAY_TEST_POSTGRES to open a PostgreSQL store")
	}
	loc, err := storeurl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "fairway_test_" + hex.EncodeToString(b)
	s, err := storeurl.Open(context.Background(), loc, storeurl.Options{Postgres: postgres.Options{Schema: schema}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	if ps, ok := s.(*postgres.Store); !ok || ps.Schema() != schema {
		t.Fatalf("Open = %T, want *postgres.Store on schema %s", s, schema)
	}
}
