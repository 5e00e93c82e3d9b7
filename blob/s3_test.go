package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"fairway"
	"fairway/blob"
	"fairway/blobtest"

	"github.com/minio/minio-go/v7"
)

func TestMain(m *testing.M) {
	code := m.Run()
	blobtest.StopS3()
	os.Exit(code)
}

func s3Options(srv *blobtest.S3Server, prefix string) blob.S3Options {
	return blob.S3Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: prefix, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
}

func openS3(t *testing.T, o blob.S3Options) *blob.S3Store {
	t.Helper()
	s, err := blob.NewS3Store(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// objects lists every key under prefix, finished uploads only.
func objects(t *testing.T, srv *blobtest.S3Server, prefix string) []string {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for o := range c.ListObjects(context.Background(), srv.Bucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func TestS3Store_Conformance(t *testing.T) {
	srv := blobtest.S3(t)
	blobtest.Run(t, func(t *testing.T) fairway.BlobStore {
		return openS3(t, s3Options(srv, srv.NewPrefix()))
	})
}

// TestS3Store_KeysAreDigests: a blob lands under PREFIX/sha256/ab/abcd…
// and nowhere else; staging leaves no object behind.
func TestS3Store_KeysAreDigests(t *testing.T) {
	srv := blobtest.S3(t)
	prefix := srv.NewPrefix()
	s := openS3(t, s3Options(srv, "/"+prefix+"/"))
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("rollback plan v1\n")
	w.Write(body)
	if keys := objects(t, srv, prefix); len(keys) != 0 {
		t.Fatalf("staging wrote objects: %v", keys)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	d := blobtest.Digest(body)
	hexd := strings.TrimPrefix(d, "sha256:")
	want := prefix + "/sha256/" + hexd[:2] + "/" + hexd
	if keys := objects(t, srv, prefix); len(keys) != 1 || keys[0] != want {
		t.Fatalf("objects = %v, want [%s]", keys, want)
	}
}

// cutTransport fails an upload's request body after limit bytes have
// been sent in total: the network dropping mid-upload.
type cutTransport struct {
	base  http.RoundTripper
	sent  atomic.Int64
	limit int64
}

var errCut = errors.New("connection cut by the test")

type cutBody struct {
	io.ReadCloser
	t *cutTransport
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.t.sent.Load() >= b.t.limit {
		return 0, errCut
	}
	n, err := b.ReadCloser.Read(p)
	b.t.sent.Add(int64(n))
	return n, err
}

func (c *cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && r.Body != nil && r.Body != http.NoBody {
		if c.sent.Load() >= c.limit {
			return nil, errCut
		}
		r.Body = &cutBody{ReadCloser: r.Body, t: c}
	}
	return c.base.RoundTrip(r)
}

// TestS3Store_InterruptedUploadLeavesNothing: an upload whose connection
// drops halfway, single PUT or multipart, leaves no object under its
// digest or any other key, and no unfinished multipart upload.
func TestS3Store_InterruptedUploadLeavesNothing(t *testing.T) {
	srv := blobtest.S3(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		size int
	}{
		{"single PUT", 3 << 20},
		{"multipart", 40 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := srv.NewPrefix()
			o := s3Options(srv, prefix)
			o.PartSize = 5 << 20
			o.Threads = 2
			cut := &cutTransport{base: http.DefaultTransport.(*http.Transport).Clone(), limit: int64(tc.size / 2)}
			o.Transport = cut
			s := openS3(t, o)
			body := bytes.Repeat([]byte("interrupted evidence\n"), tc.size/21)
			w, err := s.Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(body)
			if created, err := w.Commit(ctx); err == nil || created {
				t.Fatalf("commit over a cut connection: created %t, %v", created, err)
			}
			if cut.sent.Load() == 0 {
				t.Fatal("nothing was sent before the cut: the test tests nothing")
			}
			fresh := openS3(t, s3Options(srv, prefix))
			_, err = fresh.Stat(ctx, blobtest.Digest(body))
			if fairway.ErrorCode(err) != fairway.ENOTFOUND {
				t.Fatalf("stat after an interrupted upload: %v, want not found", err)
			}
			if keys := objects(t, srv, prefix); len(keys) != 0 {
				t.Fatalf("an interrupted upload left objects: %v", keys)
			}
			c, _ := srv.Client()
			for u := range c.ListIncompleteUploads(ctx, srv.Bucket, prefix+"/", true) {
				if u.Err != nil {
					t.Fatal(u.Err)
				}
				t.Fatalf("an interrupted upload left an unfinished multipart upload: %s", u.Key)
			}
		})
	}
}

// TestS3Store_StagedBytesChangedRefused: if the staged bytes change
// between hashing and sending (a damaged staging disk), the upload fails
// and nothing appears under the digest the record would have named.
func TestS3Store_StagedBytesChangedRefused(t *testing.T) {
	srv := blobtest.S3(t)
	ctx := context.Background()
	for _, size := range []int{1 << 10, 24 << 20} {
		prefix := srv.NewPrefix()
		o := s3Options(srv, prefix)
		o.PartSize = 5 << 20
		s := openS3(t, o)
		body := bytes.Repeat([]byte("x"), size)
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
		if _, err := blob.StagingFile(w).WriteAt([]byte("Y"), int64(size-1)); err != nil {
			t.Fatal(err)
		}
		if created, err := w.Commit(ctx); !errors.Is(err, blob.ErrStagedChanged) || created {
			t.Fatalf("%d bytes: commit of changed staged bytes: created %t, %v; want %v", size, created, err, blob.ErrStagedChanged)
		}
		if keys := objects(t, srv, prefix); len(keys) != 0 {
			t.Fatalf("%d bytes: changed staged bytes were stored: %v", size, keys)
		}
	}
}

// TestS3Store_DamagedObjectReplaced: an object of the wrong size under a
// digest is not taken for the blob; the next commit of the real bytes
// replaces it.
func TestS3Store_DamagedObjectReplaced(t *testing.T) {
	srv := blobtest.S3(t)
	ctx := context.Background()
	s := openS3(t, s3Options(srv, srv.NewPrefix()))
	body := []byte("the real bytes\n")
	key, _ := s.Key(blobtest.Digest(body))
	if _, err := s.Client().PutObject(ctx, s.Bucket(), key, strings.NewReader("trunc"), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	w, _ := s.Create(ctx)
	w.Write(body)
	if created, err := w.Commit(ctx); err != nil || !created {
		t.Fatalf("commit over a damaged object: created %t, %v", created, err)
	}
	rc, err := s.Open(ctx, blobtest.Digest(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, body) {
		t.Fatalf("read back %q", got)
	}
}

// TestS3Store_LargeBlobMultipart: a blob larger than everything the
// client may buffer (Threads × PartSize) goes up as a multipart upload
// and reads back whole.
func TestS3Store_LargeBlobMultipart(t *testing.T) {
	srv := blobtest.S3(t)
	ctx := context.Background()
	o := s3Options(srv, srv.NewPrefix())
	o.PartSize = 5 << 20
	o.Threads = 2
	s := openS3(t, o)
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for range 33 {
		w.Write(chunk)
	}
	d := w.Digest()
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := s.Client().StatObject(ctx, s.Bucket(), mustKey(t, s, d), minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A multipart object's ETag ends in -PARTS.
	if !strings.HasSuffix(info.ETag, "-7") {
		t.Fatalf("ETag %q: want a 7-part multipart upload of 33 MiB in 5 MiB parts", info.ETag)
	}
	rc, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil || n != 33<<20 {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
}

func mustKey(t *testing.T, s *blob.S3Store, d string) string {
	k, err := s.Key(d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewS3Store_Refusals(t *testing.T) {
	srv := blobtest.S3(t)
	ctx := context.Background()
	o := s3Options(srv, "")
	o.Bucket = "no-such-bucket"
	if _, err := blob.NewS3Store(ctx, o); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatalf("absent bucket: %v, want not found", err)
	}
	o = s3Options(srv, "")
	o.SecretKey = "wrong"
	if _, err := blob.NewS3Store(ctx, o); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong secret: %v (must fail, and never show the secret)", err)
	}
}
