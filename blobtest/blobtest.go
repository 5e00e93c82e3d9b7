// Package blobtest is the conformance suite every blob store runs: the
// file store now, object storage later. A store passes when it keeps
// bytes under their SHA-256 exactly, deduplicates, refuses malformed
// digests, leaves nothing behind an abort, and survives concurrent
// uploads of the same bytes.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"testing"

	"fairway"
)

// OpenFunc returns a fresh, empty store for one test; the test cleans it
// up with t.Cleanup as it needs.
type OpenFunc func(t *testing.T) fairway.BlobStore

// Run runs the whole suite, each test on a fresh store.
func Run(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		fn   func(*testing.T, fairway.BlobStore)
	}{
		{"PutGetStat", testPutGetStat},
		{"EmptyAndLarge", testEmptyAndLarge},
		{"SameBytesStoredOnce", testDedup},
		{"MalformedDigestRefused", testMalformedDigest},
		{"AbortLeavesNothing", testAbort},
		{"CommitOnlyOnce", testCommitOnce},
		{"Remove", testRemove},
		{"ConcurrentSameDigestPuts", testConcurrentSameDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

var ctx = context.Background()

// Digest returns the "sha256:<hex>" digest of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// put stages body in pieces and commits it.
func put(t *testing.T, s fairway.BlobStore, body []byte) (string, bool) {
	t.Helper()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for rest := body; len(rest) > 0; {
		n := min(len(rest), 7)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if w.Size() != int64(len(body)) || w.Digest() != Digest(body) {
		t.Fatalf("staged %d bytes as %s, want %d as %s", w.Size(), w.Digest(), len(body), Digest(body))
	}
	created, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return w.Digest(), created
}

// read returns a blob's bytes.
func read(t *testing.T, s fairway.BlobStore, digest string) []byte {
	t.Helper()
	rc, err := s.Open(ctx, digest)
	if err != nil {
		t.Fatalf("open %s: %v", digest, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", digest, err)
	}
	return b
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if fairway.ErrorCode(err) != code {
		t.Fatalf("%s: err = %v, want %s", what, err, code)
	}
}

func testPutGetStat(t *testing.T, s fairway.BlobStore) {
	body := []byte("rollback plan v1: restore tunnel config v41\n")
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body)
	// Staged bytes read back before commit, and are not yet stored.
	rc, err := w.Reader()
	if err != nil {
		t.Fatal(err)
	}
	staged, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(staged, body) {
		t.Fatalf("staged bytes read back as %q", staged)
	}
	_, err = s.Stat(ctx, Digest(body))
	wantCode(t, "stat before commit", err, fairway.ENOTFOUND)
	created, err := w.Commit(ctx)
	if err != nil || !created {
		t.Fatalf("first commit: created %t, %v", created, err)
	}
	if got := read(t, s, Digest(body)); !bytes.Equal(got, body) {
		t.Fatalf("read back %q", got)
	}
	size, err := s.Stat(ctx, Digest(body))
	if err != nil || size != int64(len(body)) {
		t.Fatalf("stat = %d, %v; want %d", size, err, len(body))
	}
	_, err = s.Open(ctx, Digest([]byte("never stored")))
	wantCode(t, "open of an absent blob", err, fairway.ENOTFOUND)
	_, err = s.Stat(ctx, Digest([]byte("never stored")))
	wantCode(t, "stat of an absent blob", err, fairway.ENOTFOUND)
}

func testEmptyAndLarge(t *testing.T, s fairway.BlobStore) {
	large := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	for _, body := range [][]byte{{}, large} {
		d, created := put(t, s, body)
		if !created {
			t.Fatalf("%d bytes: not created", len(body))
		}
		if got := read(t, s, d); !bytes.Equal(got, body) {
			t.Fatalf("%d bytes read back as %d bytes", len(body), len(got))
		}
	}
}

func testDedup(t *testing.T, s fairway.BlobStore) {
	body := []byte("the same bytes\n")
	d, created := put(t, s, body)
	if !created {
		t.Fatal("first put did not create the blob")
	}
	if d2, again := put(t, s, body); again || d2 != d {
		t.Fatalf("second put of the same bytes: created %t, digest %s", again, d2)
	}
	if got := read(t, s, d); !bytes.Equal(got, body) {
		t.Fatalf("read back %q", got)
	}
}

func testMalformedDigest(t *testing.T, s fairway.BlobStore) {
	for _, d := range []string{"sha256:xyz", "md5:" + strings.Repeat("0", 32), "sha256:" + strings.Repeat("A", 64), "../../etc/passwd", ""} {
		_, err := s.Open(ctx, d)
		wantCode(t, "open "+d, err, fairway.EINVALID)
		_, err = s.Stat(ctx, d)
		wantCode(t, "stat "+d, err, fairway.EINVALID)
		wantCode(t, "remove "+d, s.Remove(ctx, d), fairway.EINVALID)
	}
}

func testAbort(t *testing.T, s fairway.BlobStore) {
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "half a blob")
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	_, err = s.Stat(ctx, Digest([]byte("half a blob")))
	wantCode(t, "stat of aborted bytes", err, fairway.ENOTFOUND)
	if created, err := w.Commit(ctx); err == nil || created {
		t.Fatalf("commit after abort: created %t, %v", created, err)
	}
	_, err = s.Stat(ctx, Digest([]byte("half a blob")))
	wantCode(t, "stat after commit of aborted bytes", err, fairway.ENOTFOUND)
}

func testCommitOnce(t *testing.T, s fairway.BlobStore) {
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "once")
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if created, err := w.Commit(ctx); err == nil || created {
		t.Fatalf("second commit: created %t, %v", created, err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("abort after commit: %v", err)
	}
	if got := read(t, s, Digest([]byte("once"))); string(got) != "once" {
		t.Fatalf("abort after commit changed the blob: %q", got)
	}
}

func testRemove(t *testing.T, s fairway.BlobStore) {
	d, _ := put(t, s, []byte("undo me"))
	if err := s.Remove(ctx, d); err != nil {
		t.Fatal(err)
	}
	_, err := s.Open(ctx, d)
	wantCode(t, "open of a removed blob", err, fairway.ENOTFOUND)
	if err := s.Remove(ctx, d); err != nil {
		t.Fatalf("removing an absent blob: %v", err)
	}
}

func testConcurrentSameDigest(t *testing.T, s fairway.BlobStore) {
	body := bytes.Repeat([]byte("concurrent upload\n"), 4096)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	created := make([]bool, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := s.Create(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			if _, err := w.Write(body); err != nil {
				errs[i] = err
				return
			}
			created[i], errs[i] = w.Commit(ctx)
		}()
	}
	wg.Wait()
	made := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("upload %d: %v", i, errs[i])
		}
		if created[i] {
			made++
		}
	}
	if made == 0 {
		t.Fatal("no upload reports creating the blob")
	}
	if got := read(t, s, Digest(body)); !bytes.Equal(got, body) {
		t.Fatalf("after concurrent uploads the blob reads back as %d bytes", len(got))
	}
	if size, err := s.Stat(ctx, Digest(body)); err != nil || size != int64(len(body)) {
		t.Fatalf("stat = %d, %v", size, err)
	}
}
