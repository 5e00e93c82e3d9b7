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
	"time"

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
		{"inline, one PUT at commit", 1 << 20},
		{"streamed, multipart", 40 << 20},
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

// TestS3Store_CrashLeavesNoDigest: a writer abandoned mid-stream, or
// after its temporary upload completed, as a crash would leave it, puts
// nothing under a digest; the next store on the prefix removes what it
// left once stale.
func TestS3Store_CrashLeavesNoDigest(t *testing.T) {
	srv := blobtest.S3(t)
	ctx := context.Background()
	prefix := srv.NewPrefix()
	o := s3Options(srv, prefix)
	o.PartSize = 5 << 20
	s := openS3(t, o)
	sealed := bytes.Repeat([]byte("sealed, never committed\n"), 1<<18) // 6 MiB
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(sealed)
	// Reader completes the temporary upload and reads it back.
	rc, err := w.Reader()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, sealed) {
		t.Fatalf("staged bytes read back as %d bytes, want %d", len(got), len(sealed))
	}
	// A second writer stops mid-part: its multipart upload is unfinished.
	w2, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w2.Write(bytes.Repeat([]byte("half\n"), 3<<18))
	keys := objects(t, srv, prefix)
	if len(keys) != 1 || !strings.HasPrefix(keys[0], prefix+"/tmp/") {
		t.Fatalf("objects after a crash = %v, want one temporary object", keys)
	}
	if _, err := s.Stat(ctx, blobtest.Digest(sealed)); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatalf("stat of bytes never committed: %v", err)
	}
	c, _ := srv.Client()
	unfinished := func() int {
		n := 0
		for u := range c.ListIncompleteUploads(ctx, srv.Bucket, prefix+"/", true) {
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			n++
		}
		return n
	}
	if n := unfinished(); n != 1 {
		t.Fatalf("%d unfinished uploads, want the crashed writer's one", n)
	}
	// A store opened now leaves them: they may be uploads still running.
	openS3(t, s3Options(srv, prefix))
	if keys := objects(t, srv, prefix); len(keys) != 1 || unfinished() != 1 {
		t.Fatalf("a fresh store removed young uploads: %v", keys)
	}
	o.StaleAfter = time.Nanosecond
	openS3(t, o)
	if keys := objects(t, srv, prefix); len(keys) != 0 {
		t.Fatalf("stale temporary objects kept: %v", keys)
	}
	if n := unfinished(); n != 0 {
		t.Fatalf("%d stale unfinished uploads kept", n)
	}
}

// TestS3Store_AbortOfStreamLeavesNothing: aborting a streamed blob,
// before or after its temporary upload completed, leaves no object and
// no unfinished upload.
func TestS3Store_AbortOfStreamLeavesNothing(t *testing.T) {
	srv := blobtest.S3(t)
	ctx := context.Background()
	prefix := srv.NewPrefix()
	o := s3Options(srv, prefix)
	o.PartSize = 5 << 20
	s := openS3(t, o)
	for _, seal := range []bool{false, true} {
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte("aborted\n"), 1<<20)) // 8 MiB
		if seal {
			rc, err := w.Reader()
			if err != nil {
				t.Fatal(err)
			}
			rc.Close()
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if keys := objects(t, srv, prefix); len(keys) != 0 {
			t.Fatalf("sealed %t: abort left objects %v", seal, keys)
		}
		c, _ := srv.Client()
		for u := range c.ListIncompleteUploads(ctx, srv.Bucket, prefix+"/", true) {
			t.Fatalf("sealed %t: abort left an unfinished upload %s (%v)", seal, u.Key, u.Err)
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
// client may buffer (Threads × PartSize) streams up in parts, lands under
// its digest alone (the temporary object removed) and reads back whole.
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
	if keys := objects(t, srv, o.Prefix); len(keys) != 1 || keys[0] != mustKey(t, s, d) {
		t.Fatalf("objects after commit = %v, want the blob alone", keys)
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
