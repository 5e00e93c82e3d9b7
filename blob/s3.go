package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
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
	// PartSize and Threads bound an upload's memory: Threads buffers of
	// PartSize bytes are filled in turn and sent in parallel (defaults:
	// 8 MiB and 4). A blob may have at most 10,000 parts, so PartSize
	// also caps its size (8 MiB: 78 GiB).
	PartSize uint64
	Threads  uint
	// StaleAfter is how old a temporary object or unfinished upload must
	// be before a new store removes it (default StaleUpload); younger
	// ones may belong to an upload still running in another replica.
	StaleAfter time.Duration
	// Transport replaces the HTTP transport (nil: the client's default).
	Transport http.RoundTripper
}

// Defaults for S3Options.
const (
	DefaultPartSize = 8 << 20
	DefaultThreads  = 4
	// InlineSize is the largest blob held in memory and sent in one PUT.
	InlineSize = 2 << 20
)

// StaleUpload is how old a temporary object or unfinished multipart
// upload under the store's prefix must be before a new S3Store removes it
// as left behind by a crash.
const StaleUpload = 24 * time.Hour

// maxCopySize is the largest object one CopyObject may copy; larger ones
// are copied part by part.
const maxCopySize = 5 << 30

// S3Store keeps blobs in an S3-compatible bucket under
// PREFIX/sha256/ab/abcdef…, the file store's layout.
//
// How bytes reach their digest key. A blob's digest is known only once
// its last byte is in, and an S3 key must be named before an upload
// starts. A small blob (up to InlineSize) is held in memory, hashed, and
// sent under its digest key at Commit in one PUT: verify, then put. A
// larger one streams, as it is written and while it is hashed, into a
// multipart upload under PREFIX/tmp/RANDOM (memory: Threads parts of
// PartSize at most), each part checked in transit by a CRC32C the server
// verifies;
// Commit completes that upload, checks the object's size against the
// bytes hashed, and copies it server-side to its digest key. The digest
// is thus of exactly the bytes the temporary object holds before any key
// named by it exists. S3 makes an
// object visible only when its PUT, multipart completion or copy
// succeeds, so an upload interrupted halfway leaves nothing under any
// digest: at most an unfinished multipart upload or a temporary object,
// which the next S3Store started on the prefix removes once older than
// StaleUpload.
//
// The other way, staging the whole upload in a local file and sending it
// under its digest at Commit, was measured and not chosen: nothing can be
// sent until the last byte is in, so the upload's time adds to the
// ingest's instead of overlapping it, and the staged copy costs the local
// disk a write and a read of every byte. A server-side copy reads and
// writes inside the storage service, which does it several times faster
// than a client can upload (SeaweedFS: 256 MiB copied in 0.4 s against
// 3 s to upload).
type S3Store struct {
	client     *minio.Client
	bucket     string
	prefix     string
	partSize   uint64
	threads    uint
	staleAfter time.Duration
}

var _ fairway.BlobStore = (*S3Store)(nil)

// NewS3Store connects to the bucket, checks that it exists, and removes
// the temporary objects and unfinished uploads under the prefix that a
// crashed process left behind (those older than StaleAfter).
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
		// Each part carries a CRC32C trailer the server checks.
		TrailingHeaders: true,
	})
	if err != nil {
		return nil, fairway.FieldError("blobs", "endpoint %q: %v", o.Endpoint, err)
	}
	s := &S3Store{
		client:     client,
		bucket:     o.Bucket,
		prefix:     normalizePrefix(o.Prefix),
		partSize:   o.PartSize,
		threads:    o.Threads,
		staleAfter: o.StaleAfter,
	}
	if s.staleAfter == 0 {
		s.staleAfter = StaleUpload
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
	s.removeStale(ctx)
	return s, nil
}

func normalizePrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// removeStale removes temporary objects and aborts unfinished multipart
// uploads under the prefix older than staleAfter. Failing to is not an
// error: they are never under a digest, and only cost space.
func (s *S3Store) removeStale(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stale []string
	for u := range s.client.ListIncompleteUploads(ctx, s.bucket, s.prefix, true) {
		if u.Err != nil {
			break
		}
		if time.Since(u.Initiated) > s.staleAfter {
			stale = append(stale, u.Key)
		}
	}
	for _, key := range stale {
		s.client.RemoveIncompleteUpload(ctx, s.bucket, key)
	}
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + "tmp/", Recursive: true}) {
		if o.Err != nil {
			break
		}
		if time.Since(o.LastModified) > s.staleAfter {
			s.client.RemoveObject(ctx, s.bucket, o.Key, minio.RemoveObjectOptions{})
		}
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

// Create starts a blob: in memory while it is small, streaming into a
// temporary object once it is not.
func (s *S3Store) Create(ctx context.Context) (fairway.BlobWriter, error) {
	return &s3Writer{s: s, ctx: ctx, h: sha256.New()}, nil
}

// PutOptions are the options uploads are sent with: Threads buffers of
// PartSize bytes, filled in turn and sent in parallel.
func (s *S3Store) PutOptions() minio.PutObjectOptions {
	return minio.PutObjectOptions{
		ContentType:           "application/octet-stream",
		PartSize:              s.partSize,
		NumThreads:            s.threads,
		ConcurrentStreamParts: true,
		// A CRC32C per part, which the server verifies, instead of signing
		// every chunk with SHA-256: the bytes are hashed with SHA-256 once
		// already, for their digest.
		Checksum:             minio.ChecksumCRC32C,
		DisableContentSha256: true,
	}
}

type s3Writer struct {
	s    *S3Store
	ctx  context.Context
	h    hash.Hash
	size int64
	// buf holds the bytes while there are at most InlineSize of them.
	buf []byte
	// Once there are more, they stream through pw into an upload to
	// tmpKey, which reports on up.
	pw     *io.PipeWriter
	tmpKey string
	up     chan upload
	// sent is the finished temporary upload, once sealed.
	sent *upload
	err  error
	done bool
}

type upload struct {
	info minio.UploadInfo
	err  error
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done || w.sent != nil {
		return 0, errors.New("blob already sealed, committed or aborted")
	}
	if w.pw == nil && len(w.buf)+len(p) <= InlineSize {
		w.buf = append(w.buf, p...)
		w.h.Write(p)
		w.size += int64(len(p))
		return len(p), nil
	}
	if w.pw == nil {
		w.startUpload()
		held := w.buf
		w.buf = nil
		if _, err := w.pw.Write(held); err != nil {
			w.err = fmt.Errorf("upload blob: %w", err)
			return 0, w.err
		}
	}
	n, err := w.pw.Write(p)
	w.h.Write(p[:n])
	w.size += int64(n)
	if err != nil {
		w.err = fmt.Errorf("upload blob: %w", err)
		return n, w.err
	}
	return n, nil
}

// startUpload begins the multipart upload to a temporary key that the
// pipe feeds.
func (w *s3Writer) startUpload() {
	b := make([]byte, 16)
	rand.Read(b)
	w.tmpKey = w.s.prefix + "tmp/" + hex.EncodeToString(b)
	pr, pw := io.Pipe()
	w.pw, w.up = pw, make(chan upload, 1)
	go func() {
		info, err := w.s.client.PutObject(w.ctx, w.s.bucket, w.tmpKey, pr, -1, w.s.PutOptions())
		// Unblock a writer if the upload stopped before the stream did.
		pr.CloseWithError(cmpErr(err, errors.New("upload ended")))
		w.up <- upload{info, err}
	}()
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// seal ends the stream and waits for the temporary upload to complete.
func (w *s3Writer) seal() error {
	if w.sent == nil {
		w.pw.Close()
		u := <-w.up
		w.sent = &u
	}
	if w.sent.err != nil {
		return fmt.Errorf("upload blob: %w", w.sent.err)
	}
	if w.sent.info.Size != w.size {
		return fmt.Errorf("upload blob: the server holds %d bytes of the %d sent", w.sent.info.Size, w.size)
	}
	return nil
}

func (w *s3Writer) Digest() string { return "sha256:" + hex.EncodeToString(w.h.Sum(nil)) }
func (w *s3Writer) Size() int64    { return w.size }

// Reader reads back what was written: from memory, or from the temporary
// object once its upload is complete. Nothing may be written after.
func (w *s3Writer) Reader() (io.ReadCloser, error) {
	if w.done {
		return nil, errors.New("blob already committed or aborted")
	}
	if w.err != nil {
		return nil, w.err
	}
	if w.pw == nil {
		return io.NopCloser(bytes.NewReader(w.buf)), nil
	}
	if err := w.seal(); err != nil {
		return nil, err
	}
	obj, err := w.s.client.GetObject(w.ctx, w.s.bucket, w.tmpKey, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, err
	}
	return obj, nil
}

// Commit puts the bytes under their digest unless the bucket already
// holds them: a small blob in one PUT, a large one by completing its
// temporary upload and copying it server-side.
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
	if w.pw != nil {
		// Complete the temporary upload first: a failure there must not
		// be mistaken for a blob already stored.
		if err := w.seal(); err != nil {
			return false, err
		}
	}
	if info, err := w.s.client.StatObject(ctx, w.s.bucket, key, minio.StatObjectOptions{}); err == nil && info.Size == w.size {
		// Same bytes already stored: content addressing makes this a
		// no-op. (An object of another size under this digest is damaged;
		// it is replaced below.)
		return false, nil
	} else if err != nil && !isNotFound(err) {
		return false, fmt.Errorf("stat blob %s: %w", digest, err)
	}
	if w.pw == nil {
		if _, err := w.s.client.PutObject(ctx, w.s.bucket, key, bytes.NewReader(w.buf), w.size, w.s.PutOptions()); err != nil {
			return false, fmt.Errorf("upload blob %s: %w", digest, err)
		}
		return true, nil
	}
	dst := minio.CopyDestOptions{Bucket: w.s.bucket, Object: key}
	src := minio.CopySrcOptions{Bucket: w.s.bucket, Object: w.tmpKey}
	if w.size <= maxCopySize {
		_, err = w.s.client.CopyObject(ctx, dst, src)
	} else {
		_, err = w.s.client.ComposeObject(ctx, dst, src)
	}
	if err != nil {
		return false, fmt.Errorf("copy blob %s to its digest: %w", digest, err)
	}
	if info, err := w.s.client.StatObject(ctx, w.s.bucket, key, minio.StatObjectOptions{}); err != nil || info.Size != w.size {
		return false, fmt.Errorf("copy blob %s to its digest: the copy holds %d bytes of %d: %v", digest, info.Size, w.size, err)
	}
	return true, nil
}

// discard ends the temporary upload, if any, and removes its object: an
// unfinished upload is aborted by the client when its stream fails.
func (w *s3Writer) discard() {
	w.buf = nil
	if w.pw == nil {
		return
	}
	if w.sent == nil {
		w.pw.CloseWithError(errAborted)
		u := <-w.up
		w.sent = &u
	}
	// The upload completed (or ended as the abort came): its object is
	// removed; a failed upload was aborted by the client.
	if w.sent.err == nil {
		w.s.client.RemoveObject(context.WithoutCancel(w.ctx), w.s.bucket, w.tmpKey, minio.RemoveObjectOptions{})
	}
}

var errAborted = errors.New("blob aborted")

func (w *s3Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.discard()
	return nil
}
