// Package storeurl opens a fairway.Store from a URL, so that the engine is
// a setting: postgres://… (or postgresql://…) for PostgreSQL, sqlite:PATH
// or a plain file path for the embedded SQLite store.
package storeurl

import (
	"context"
	"net/url"
	"strings"

	"fairway"
	"fairway/postgres"
	"fairway/sqlite"
)

// Kind is the engine a store URL names.
type Kind string

// The engines a URL may name.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Location is a parsed store URL.
type Location struct {
	Kind Kind
	// Path is the SQLite database file.
	Path string
	// URL is the PostgreSQL connection URL.
	URL string
}

// Parse reads a store URL: postgres://… or postgresql://…, sqlite:PATH
// (also sqlite://PATH), or a plain path to a SQLite file.
func Parse(raw string) (Location, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Location{}, fairway.FieldError("store", "is empty; give postgres://HOST/DB, sqlite:PATH or a file path")
	}
	scheme, rest, hasScheme := strings.Cut(raw, ":")
	switch {
	case scheme == "postgres" || scheme == "postgresql":
		u, err := url.Parse(raw)
		if err != nil || !strings.HasPrefix(rest, "//") {
			return Location{}, fairway.FieldError("store", "%q is not a PostgreSQL URL; write it as postgres://USER@HOST:PORT/DB", redact(raw))
		}
		if u.Host == "" {
			return Location{}, fairway.FieldError("store", "%q names no host; write it as postgres://USER@HOST:PORT/DB", redact(raw))
		}
		return Location{Kind: Postgres, URL: raw}, nil
	case scheme == "sqlite":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return Location{}, fairway.FieldError("store", "sqlite: needs a file path, e.g. sqlite:.fairway/fairway.db")
		}
		return Location{Kind: SQLite, Path: path}, nil
	case hasScheme && strings.HasPrefix(rest, "//"):
		return Location{}, fairway.FieldError("store", "scheme %q is not a store Fairway knows; use postgres://… or sqlite:PATH", scheme)
	}
	// Anything else is a file path, drive letters included.
	return Location{Kind: SQLite, Path: raw}, nil
}

// String shows the location with any password hidden, fit for logs.
func (l Location) String() string {
	if l.Kind == Postgres {
		return redact(l.URL)
	}
	return "sqlite:" + l.Path
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres://…"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Options tune the store each engine opens.
type Options struct {
	SQLite   sqlite.Options
	Postgres postgres.Options
}

// Open opens the store at loc.
func Open(ctx context.Context, loc Location, opts Options) (fairway.Store, error) {
	switch loc.Kind {
	case SQLite:
		return sqlite.Open(ctx, loc.Path, opts.SQLite)
	case Postgres:
		return postgres.Open(ctx, loc.URL, opts.Postgres)
	}
	return nil, fairway.FieldError("store", "kind %q is not a store Fairway knows", loc.Kind)
}
