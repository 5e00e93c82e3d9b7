package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"fairway"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options say where an S3Store keeps its objects and how it reaches
// them.
type S3Options struct {
	// Endpoint is the server's host:port.
	Endpoint string
	// Secure talks HTTPS to the endpoint.
	Secure bool
	// Region is the bucket's region; empty lets the client ask.
	Region string
	// Bucket holds the blobs; it must exist.
	Bucket string
	// Prefix is prepended to every key ("team-a/" keeps blobs under
	// team-a/sha256/…); empty keeps them at the bucket's root.
	Prefix string
	// AccessKey, SecretKey and SessionToken sign requests.
	AccessKey, SecretKey, SessionToken string
	// StagingDir holds uploads while they are hashed (default: the
	// system's temporary folder). It should be on disk, not in memory:
	// an upload is staged whole before it is sent.
	StagingDir string
	// PartSize and Threads bound an upload's memory: Threads buffers of
	// PartSize bytes are filled in turn and sent in parallel (defaults:
	// 16 MiB and 4).
	PartSize uint64
	Threads  uint
	// Transport replaces the HTTP transport (nil: the client's default).
	Transport http.RoundTripper
}

// Defaults for S3Options.
const (
	DefaultPartSize = 16 << 20
	DefaultThreads  = 4
)

// StaleUpload is how old an unfinished multipart upload under the store's
// prefix must be before a new S3Store aborts it as left behind by a crash.
const StaleUpload = 24 * time.Hour

// S3Store keeps blobs in an S3-compatible bucket under
// PREFIX/sha256/ab/abcdef…, the file store's layout.
//
// How a digest is verified before a record can point at an object: an
// upload is staged in a local file, hashed as it streams in, and sent
// under its digest key only at Commit ("verify, then put"); the bytes are
// hashed a second time as they are sent, and a mismatch fails the upload
// before it completes. S3 makes an object visible only when its PUT, or
// its multipart upload's completion, succeeds, so an upload interrupted
// halfway leaves nothing under any digest (unfinished multipart parts are
// invisible; a new store aborts those older than StaleUpload).
//
// The other way, streaming to a temporary key and copying it server-side
// to the digest key once the digest is known, was not chosen: the copy
// makes the server read and write every byte a second time (SeaweedFS
// and most others copy data, not a pointer), which doubles the server's
// work on large evidence, and it leaves an object under a temporary key
// that a crash must clean up.
type S3Store struct {
	client   *minio.Client
	bucket   string
	prefix   string
	staging  string
	partSize uint64
	threads  uint
}

var _ fairway.BlobStore = (*S3Store)(nil)

// NewS3Store connects to the bucket, checks that it exists, and aborts
// multipart uploads under the prefix that a crashed process left behind.
func NewS3Store(ctx context.Context, o S3Options) (*S3Store, error) {
	if o.Bucket == "" {
		return nil, fairway.FieldError("blobs", "names no bucket; write it as s3://BUCKET/PREFIX?endpoint=HOST:PORT")
	}
	if o.Endpoint == "" {
		return nil, fairway.FieldError("blobs", "names no endpoint; add ?endpoint=HOST:PORT")
	}
	if o.AccessKey == "" || o.SecretKey == "" {
		return nil, fairway.FieldError("blobs", "has no credentials: give access_key and secret_key in the URL's query, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	client, err := minio.New(o.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(o.AccessKey, o.SecretKey, o.SessionToken),
		Secure:    o.Secure,
		Region:    o.Region,
		Transport: o.Transport,
	})
	if err != nil {
		return nil, fairway.FieldError("blobs", "endpoint %q: %v", o.Endpoint, err)
	}
	s := &S3Store{
		client:   client,
		bucket:   o.Bucket,
		prefix:   normalizePrefix(o.Prefix),
		staging:  o.StagingDir,
		partSize: o.PartSize,
		threads:  o.Threads,
	}
	if s.staging == "" {
		s.staging = os.TempDir()
	}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	if s.threads == 0 {
		s.threads = DefaultThreads
	}
	ok, err := client.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blobs: reach bucket %q at %s: %w", o.Bucket, o.Endpoint, err)
	}
	if !ok {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "blobs: bucket %q does not exist at %s; create it first", o.Bucket, o.Endpoint)
	}
	s.abortStaleUploads(ctx)
	return s, nil
}

func normalizePrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// abortStaleUploads drops unfinished multipart uploads older than
// StaleUpload; younger ones may belong to an upload still running in
// another replica. Failing to list them is not an error: they are
// invisible, and only cost space.
func (s *S3Store) abortStaleUploads(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stale []string
	for u := range s.client.ListIncompleteUploads(ctx, s.bucket, s.prefix+"sha256/", true) {
		if u.Err != nil {
			return
		}
		if time.Since(u.Initiated) > StaleUpload {
			stale = append(stale, u.Key)
		}
	}
	for _, key := range stale {
		s.client.RemoveIncompleteUpload(ctx, s.bucket, key)
	}
}

// Client is the store's S3 client, for tools that work on the same
// bucket (the benchmark's baseline, tests).
func (s *S3Store) Client() *minio.Client { return s.client }

// Bucket is the bucket the store writes to.
func (s *S3Store) Bucket() string { return s.bucket }

// Key is the object key a digest is stored under.
func (s *S3Store) Key(digest string) (string, error) {
	if err := fairway.ValidateDigest("digest", digest); err != nil {
		return "", err
	}
	hexd := strings.TrimPrefix(digest, "sha256:")
	return s.prefix + "sha256/" + hexd[:2] + "/" + hexd, nil
}

func isNotFound(err error) bool {
	resp := minio.ToErrorResponse(err)
	return resp.StatusCode == http.StatusNotFound || resp.Code == minio.NoSuchKey
}

// Open reads a blob.
func (s *S3Store) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	key, err := s.Key(digest)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", digest, err)
	}
	// The first request is sent here, so that an absent blob is reported
	// by Open and not by the first Read.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if isNotFound(err) {
			return nil, fairway.Errorf(fairway.ENOTFOUND, "blob %s is not in the store", digest)
		}
		return nil, fmt.Errorf("open blob %s: %w", digest, err)
	}
	return obj, nil
}

// Stat returns a blob's size.
func (s *S3Store) Stat(ctx context.Context, digest string) (int64, error) {
	key, err := s.Key(digest)
	if err != nil {
		return 0, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return 0, fairway.Errorf(fairway.ENOTFOUND, "blob %s is not in the store", digest)
		}
		return 0, fmt.Errorf("stat blob %s: %w", digest, err)
	}
	return info.Size, nil
}

// Remove deletes a blob.
func (s *S3Store) Remove(ctx context.Context, digest string) error {
	key, err := s.Key(digest)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove blob %s: %w", digest, err)
	}
	return nil
}

// Create stages a blob in a file of the staging folder. Where the system
// allows it the file is unlinked at once, so a crash leaves nothing to
// clean up.
func (s *S3Store) Create(ctx context.Context) (fairway.BlobWriter, error) {
	f, err := os.CreateTemp(s.staging, "fairway-stage-*")
	if err != nil {
		return nil, fmt.Errorf("stage blob: %w", err)
	}
	w := &s3Writer{s: s, f: f, h: sha256.New()}
	if runtime.GOOS != "windows" {
		if err := os.Remove(f.Name()); err == nil {
			w.unlinked = true
		}
	}
	return w, nil
}

type s3Writer struct {
	s        *S3Store
	f        *os.File
	unlinked bool
	h        hash.Hash
	size     int64
	err      error
	done     bool
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, errors.New("blob already committed or aborted")
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.size += int64(n)
	if err != nil {
		w.err = fmt.Errorf("write blob: %w", err)
		return n, w.err
	}
	return n, nil
}

func (w *s3Writer) Digest() string { return "sha256:" + hex.EncodeToString(w.h.Sum(nil)) }
func (w *s3Writer) Size() int64    { return w.size }

// Reader reads the staged file back.
func (w *s3Writer) Reader() (io.ReadCloser, error) {
	if w.done {
		return nil, errors.New("blob already committed or aborted")
	}
	return io.NopCloser(io.NewSectionReader(w.f, 0, w.size)), nil
}

// Commit sends the staged bytes under their digest unless the bucket
// already holds them. The bytes are hashed again as they are sent; if
// they no longer match the digest (the staged file changed under us), the
// upload fails before it completes and no object appears.
func (w *s3Writer) Commit(ctx context.Context) (bool, error) {
	if w.done {
		return false, errors.New("blob already committed or aborted")
	}
	if w.err != nil {
		w.Abort()
		return false, w.err
	}
	w.done = true
	defer w.discard()
	digest := w.Digest()
	key, err := w.s.Key(digest)
	if err != nil {
		return false, err
	}
	if info, err := w.s.client.StatObject(ctx, w.s.bucket, key, minio.StatObjectOptions{}); err == nil && info.Size == w.size {
		// Same bytes already stored: content addressing makes this a
		// no-op. (An object of another size under this digest is damaged;
		// it is replaced below.)
		return false, nil
	} else if err != nil && !isNotFound(err) {
		return false, fmt.Errorf("stat blob %s: %w", digest, err)
	}
	src := &verifyingReader{r: io.NewSectionReader(w.f, 0, w.size), h: sha256.New(), want: digest, size: w.size}
	_, err = w.s.client.PutObject(ctx, w.s.bucket, key, src, w.size, minio.PutObjectOptions{
		ContentType:           "application/octet-stream",
		PartSize:              w.s.partSize,
		NumThreads:            w.s.threads,
		ConcurrentStreamParts: true,
	})
	if err != nil {
		return false, fmt.Errorf("upload blob %s: %w", digest, err)
	}
	return true, nil
}

func (w *s3Writer) discard() {
	w.f.Close()
	if !w.unlinked {
		os.Remove(w.f.Name())
	}
}

func (w *s3Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.discard()
	return nil
}

// ErrStagedChanged is the error of an upload whose bytes, read back from
// staging, no longer hash to the digest computed as they arrived.
var ErrStagedChanged = errors.New("staged bytes changed before upload: they no longer match their digest")

// verifyingReader hashes what it passes on and, at the end, turns EOF into
// ErrStagedChanged unless the bytes match the digest. It offers only Read,
// so the client streams it once and cannot seek around the check.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
	size int64
	n    int64
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		if v.n != v.size || "sha256:"+hex.EncodeToString(v.h.Sum(nil)) != v.want {
			return n, ErrStagedChanged
		}
	}
	return n, err
}
