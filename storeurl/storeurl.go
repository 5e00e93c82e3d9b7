// Package storeurl opens a fairway.Store, and the blob store beside it,
// from a URL, so that the engine is a setting: postgres://… (or
// postgresql://…) for PostgreSQL, sqlite:PATH or a plain file path for
// the embedded SQLite store; s3://BUCKET/PREFIX?endpoint=… for evidence
// bytes in S3-compatible object storage, file:PATH or a folder for the
// file blob store.
package storeurl

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"fairway"
	"fairway/blob"
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
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
			u.RawQuery = q.Encode()
		}
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

// BlobKind is the backend a blobs URL names.
type BlobKind string

// The blob backends a URL may name.
const (
	BlobFile BlobKind = "file"
	BlobS3   BlobKind = "s3"
)

// BlobLocation is a parsed blobs URL.
type BlobLocation struct {
	Kind BlobKind
	// Path is the folder of a file blob store.
	Path string
	// S3 says where and how an S3 blob store connects.
	S3 blob.S3Options
}

// s3Params are the query parameters an s3:// URL may carry.
var s3Params = map[string]bool{
	"endpoint": true, "secure": true, "region": true, "access_key": true, "secret_key": true,
	"session_token": true, "part_size_mib": true, "threads": true,
}

// ParseBlobs reads a blobs URL: s3://BUCKET/PREFIX?endpoint=HOST:PORT&…
// for S3-compatible object storage, or file:PATH or a plain folder path
// for the file store. Credentials come from the query (access_key,
// secret_key, session_token) or else from AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN read through getenv.
// The endpoint speaks HTTPS unless it is written http://HOST:PORT or the
// query says secure=false.
func ParseBlobs(raw string, getenv func(string) string) (BlobLocation, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return BlobLocation{}, fairway.FieldError("blobs", "is empty; give s3://BUCKET/PREFIX?endpoint=HOST:PORT, file:PATH or a folder path")
	}
	scheme, rest, hasScheme := strings.Cut(raw, ":")
	switch {
	case scheme == "s3":
		return parseS3(raw, getenv)
	case scheme == "file":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return BlobLocation{}, fairway.FieldError("blobs", "file: needs a folder path, e.g. file:.fairway/blobs")
		}
		return BlobLocation{Kind: BlobFile, Path: path}, nil
	case hasScheme && strings.HasPrefix(rest, "//"):
		return BlobLocation{}, fairway.FieldError("blobs", "scheme %q is not a blob store Fairway knows; use s3://… or file:PATH", scheme)
	}
	return BlobLocation{Kind: BlobFile, Path: raw}, nil
}

func parseS3(raw string, getenv func(string) string) (BlobLocation, error) {
	example := "write it as s3://BUCKET/PREFIX?endpoint=HOST:PORT"
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return BlobLocation{}, fairway.FieldError("blobs", "%q is not an s3:// URL; %s", redactS3(raw), example)
	}
	if u.Host == "" {
		return BlobLocation{}, fairway.FieldError("blobs", "%q names no bucket; %s", redactS3(raw), example)
	}
	if u.User != nil {
		return BlobLocation{}, fairway.FieldError("blobs", "%q carries credentials before the bucket; give them as access_key and secret_key in the query, or in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", redactS3(raw))
	}
	q := u.Query()
	for k := range q {
		if !s3Params[k] {
			return BlobLocation{}, fairway.FieldError("blobs", "%q: unknown parameter %q; known: endpoint, secure, region, access_key, secret_key, session_token, part_size_mib, threads", redactS3(raw), k)
		}
	}
	o := blob.S3Options{
		Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Endpoint: "s3.amazonaws.com", Secure: true,
		Region:    q.Get("region"),
		AccessKey: q.Get("access_key"), SecretKey: q.Get("secret_key"), SessionToken: q.Get("session_token"),
	}
	if ep := q.Get("endpoint"); ep != "" {
		if h, ok := strings.CutPrefix(ep, "http://"); ok {
			o.Endpoint, o.Secure = h, false
		} else {
			o.Endpoint = strings.TrimPrefix(ep, "https://")
		}
		if o.Endpoint == "" || strings.ContainsAny(o.Endpoint, "/?#@") {
			return BlobLocation{}, fairway.FieldError("blobs", "endpoint %q is not HOST or HOST:PORT", ep)
		}
	}
	if v := q.Get("secure"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return BlobLocation{}, fairway.FieldError("blobs", "secure=%q: want true or false", v)
		}
		o.Secure = b
	}
	if v := q.Get("part_size_mib"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n < 5 || n > 5120 {
			return BlobLocation{}, fairway.FieldError("blobs", "part_size_mib=%q: want a whole number of MiB from 5 to 5120 (S3's part limits)", v)
		}
		o.PartSize = n << 20
	}
	if v := q.Get("threads"); v != "" {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil || n < 1 || n > 64 {
			return BlobLocation{}, fairway.FieldError("blobs", "threads=%q: want a whole number from 1 to 64", v)
		}
		o.Threads = uint(n)
	}
	if o.AccessKey == "" && o.SecretKey == "" && getenv != nil {
		o.AccessKey, o.SecretKey, o.SessionToken = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")
	}
	if o.AccessKey == "" || o.SecretKey == "" {
		return BlobLocation{}, fairway.FieldError("blobs", "%q has no credentials: give access_key and secret_key in the query, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", redactS3(raw))
	}
	return BlobLocation{Kind: BlobS3, S3: o}, nil
}

// redactS3 hides every credential a raw s3:// URL may carry.
func redactS3(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "s3://…"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	q := u.Query()
	// The credentials, and the value of any parameter Fairway does not
	// know: a misspelt secret_key is still a secret.
	for k := range q {
		if k == "access_key" || k == "secret_key" || k == "session_token" || !s3Params[k] {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// String shows the location without credentials, fit for logs.
func (l BlobLocation) String() string {
	if l.Kind != BlobS3 {
		return "file:" + l.Path
	}
	o := l.S3
	s := "s3://" + o.Bucket + "/" + o.Prefix + "?endpoint=" + o.Endpoint
	if !o.Secure {
		s += "&secure=false"
	}
	if o.Region != "" {
		s += "&region=" + url.QueryEscape(o.Region)
	}
	return s
}

// OpenBlobs opens the blob store at loc.
func OpenBlobs(ctx context.Context, loc BlobLocation) (fairway.BlobStore, error) {
	switch loc.Kind {
	case BlobFile:
		return blob.NewFileStore(loc.Path)
	case BlobS3:
		return blob.NewS3Store(ctx, loc.S3)
	}
	return nil, fairway.FieldError("blobs", "kind %q is not a blob store Fairway knows", loc.Kind)
}
