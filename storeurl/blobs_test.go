package storeurl_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/blob"
	"fairway/blobtest"
	"fairway/storeurl"
)

func TestMain(m *testing.M) {
	code := m.Run()
	blobtest.StopS3()
	os.Exit(code)
}

func TestParseBlobs(t *testing.T) {
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "envsecret"}
	getenv := func(k string) string { return env[k] }
	noenv := func(string) string { return "" }
	s3 := func(o blob.S3Options) storeurl.BlobLocation {
		return storeurl.BlobLocation{Kind: storeurl.BlobS3, S3: o}
	}
	tests := []struct {
		raw     string
		getenv  func(string) string
		want    storeurl.BlobLocation
		shown   string
		wantErr string
	}{
		{raw: "s3://evidence/team-a?endpoint=127.0.0.1:8333&secure=false&access_key=AK&secret_key=s3cret", getenv: noenv,
			want:  s3(blob.S3Options{Bucket: "evidence", Prefix: "team-a", Endpoint: "127.0.0.1:8333", AccessKey: "AK", SecretKey: "s3cret"}),
			shown: "s3://evidence/team-a?endpoint=127.0.0.1:8333&secure=false"},
		{raw: "s3://evidence/a/b/?endpoint=http://minio.internal:9000", getenv: getenv,
			want:  s3(blob.S3Options{Bucket: "evidence", Prefix: "a/b", Endpoint: "minio.internal:9000", AccessKey: "AKIAENV", SecretKey: "envsecret"}),
			shown: "s3://evidence/a/b?endpoint=minio.internal:9000&secure=false"},
		{raw: "s3://evidence?region=eu-west-1&part_size_mib=64&threads=8", getenv: getenv,
			want: s3(blob.S3Options{Bucket: "evidence", Endpoint: "s3.amazonaws.com", Secure: true, Region: "eu-west-1", AccessKey: "AKIAENV", SecretKey: "envsecret",
				PartSize: 64 << 20, Threads: 8}),
			shown: "s3://evidence/?endpoint=s3.amazonaws.com&region=eu-west-1"},
		{raw: "file:.fairway/blobs", want: storeurl.BlobLocation{Kind: storeurl.BlobFile, Path: ".fairway/blobs"}, shown: "file:.fairway/blobs"},
		{raw: "/srv/fairway/blobs", want: storeurl.BlobLocation{Kind: storeurl.BlobFile, Path: "/srv/fairway/blobs"}, shown: "file:/srv/fairway/blobs"},
		{raw: "", wantErr: "blobs: is empty; give s3://BUCKET/PREFIX?endpoint=HOST:PORT, file:PATH or a folder path"},
		{raw: "file:", wantErr: "blobs: file: needs a folder path, e.g. file:.fairway/blobs"},
		{raw: "gs://evidence", wantErr: `blobs: scheme "gs" is not a blob store Fairway knows; use s3://… or file:PATH`},
		{raw: "s3:evidence", getenv: getenv, wantErr: `blobs: "s3:evidence" is not an s3:// URL; write it as s3://BUCKET/PREFIX?endpoint=HOST:PORT`},
		{raw: "s3:///prefix?endpoint=h:1", getenv: getenv, wantErr: `blobs: "s3:///prefix?endpoint=h%3A1" names no bucket; write it as s3://BUCKET/PREFIX?endpoint=HOST:PORT`},
		{raw: "s3://evidence?endpoint=h:1&secret_key=s3cret&acces_key=AK", getenv: getenv,
			wantErr: `blobs: "s3://evidence?acces_key=xxxxx&endpoint=h%3A1&secret_key=xxxxx": unknown parameter "acces_key"; known: endpoint, secure, region, access_key, secret_key, session_token, part_size_mib, threads`},
		// A misspelt credential is still a credential: its value is never shown.
		{raw: "s3://evidence?endpoint=h:1&access_key=AK&secret_kye=s3cret", getenv: getenv,
			wantErr: `blobs: "s3://evidence?access_key=xxxxx&endpoint=h%3A1&secret_kye=xxxxx": unknown parameter "secret_kye"; known: endpoint, secure, region, access_key, secret_key, session_token, part_size_mib, threads`},
		{raw: "s3://AK:s3cret@evidence?endpoint=h:1", getenv: getenv,
			wantErr: `blobs: "s3://xxxxx@evidence?endpoint=h%3A1" carries credentials before the bucket; give them as access_key and secret_key in the query, or in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`},
		{raw: "s3://evidence?endpoint=h:1&secret_key=s3cret", getenv: getenv,
			wantErr: `blobs: "s3://evidence?endpoint=h%3A1&secret_key=xxxxx" has no credentials: give access_key and secret_key in the query, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`},
		{raw: "s3://evidence?endpoint=h:1", getenv: noenv,
			wantErr: `blobs: "s3://evidence?endpoint=h%3A1" has no credentials: give access_key and secret_key in the query, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`},
		{raw: "s3://evidence?endpoint=h:1/x", getenv: getenv, wantErr: `blobs: endpoint "h:1/x" is not HOST or HOST:PORT`},
		{raw: "s3://evidence?secure=maybe", getenv: getenv, wantErr: `blobs: secure="maybe": want true or false`},
		{raw: "s3://evidence?part_size_mib=1", getenv: getenv, wantErr: `blobs: part_size_mib="1": want a whole number of MiB from 5 to 5120 (S3's part limits)`},
		{raw: "s3://evidence?threads=0", getenv: getenv, wantErr: `blobs: threads="0": want a whole number from 1 to 64`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := storeurl.ParseBlobs(tt.raw, tt.getenv)
			if tt.wantErr != "" {
				if fairway.ErrorCode(err) != fairway.EINVALID || err.Error() != tt.wantErr {
					t.Fatalf("ParseBlobs(%q) error = %v, want invalid %q", tt.raw, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseBlobs(%q) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
			}
			if s := got.String(); s != tt.shown {
				t.Fatalf("String() = %q, want %q", s, tt.shown)
			}
			for _, secret := range []string{"s3cret", "envsecret", "AKIAENV"} {
				if strings.Contains(got.String(), secret) {
					t.Fatalf("String() %q shows a credential", got.String())
				}
			}
		})
	}
}

func TestOpenBlobs(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "blobs")
	loc, err := storeurl.ParseBlobs("file:"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := storeurl.OpenBlobs(ctx, loc)
	if _, ok := s.(*blob.FileStore); !ok || err != nil {
		t.Fatalf("OpenBlobs(file) = %T, %v", s, err)
	}

	srv := blobtest.S3(t)
	prefix := srv.NewPrefix()
	loc, err = storeurl.ParseBlobs(srv.URL(prefix), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err = storeurl.OpenBlobs(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	s3, ok := s.(*blob.S3Store)
	if !ok || s3.Bucket() != srv.Bucket {
		t.Fatalf("OpenBlobs(s3) = %T", s)
	}
	if k, _ := s3.Key(blobtest.Digest(nil)); !strings.HasPrefix(k, prefix+"/sha256/e3/e3b0c442") {
		t.Fatalf("key %q is not under the URL's prefix", k)
	}
}
