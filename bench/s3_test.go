package bench_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"fairway"
	"fairway/bench"
	"fairway/blob"
	"fairway/blobtest"

	"github.com/minio/minio-go/v7"
)

// TestS3Ingest: the two sides of the S3 ingest benchmark do what they
// say: Fairway records the stream's exact bytes under their digest in the
// bucket, and the baseline sends them and leaves nothing behind.
func TestS3Ingest(t *testing.T) {
	srv := blobtest.S3(t)
	ctx := context.Background()
	prefix := srv.NewPrefix()
	s, err := blob.NewS3Store(ctx, blob.S3Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: prefix, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	const size = 12 << 20
	h := sha256.New()
	io.Copy(h, bench.NewLogStream(size))
	want := "sha256:" + hex.EncodeToString(h.Sum(nil))
	e, err := bench.IngestInto(ctx, t.TempDir(), size, s)
	if err != nil {
		t.Fatal(err)
	}
	if e.Digest != want || e.Size != size {
		t.Fatalf("recorded %s, %d bytes; want %s, %d", e.Digest, e.Size, want, size)
	}
	if got, err := s.Stat(ctx, want); err != nil || got != size {
		t.Fatalf("stat = %d, %v", got, err)
	}
	if err := bench.S3PutOnly(ctx, s, prefix+"/baseline", size, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	var keys []string
	for o := range c.ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
		keys = append(keys, o.Key)
	}
	if k, _ := s.Key(want); len(keys) != 1 || keys[0] != k {
		t.Fatalf("objects = %v, want the evidence blob alone", keys)
	}
	if _, err := s.Stat(ctx, "sha256:"+hex.EncodeToString(make([]byte, 32))); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatal(err)
	}
}
