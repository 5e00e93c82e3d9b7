package blob_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
)

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func stagedFiles(t *testing.T, root string) int {
	entries, err := os.ReadDir(filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestFileStore_StagesCommitsAndDeduplicates(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := blob.NewFileStore(root)
	if err != nil {
		t.Fatal(err)
	}
	put := func(body string) (string, bool) {
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range strings.SplitAfter(body, " ") {
			io.WriteString(w, part)
		}
		if w.Size() != int64(len(body)) || w.Digest() != digest(body) {
			t.Fatalf("staged %d bytes %s", w.Size(), w.Digest())
		}
		created, err := w.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return w.Digest(), created
	}
	d, created := put("rollback plan v1")
	if !created {
		t.Fatal("first commit did not create the blob")
	}
	if _, again := put("rollback plan v1"); again {
		t.Fatal("the same bytes were stored twice")
	}
	rc, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "rollback plan v1" {
		t.Fatalf("read back %q", b)
	}
	if n := stagedFiles(t, root); n != 0 {
		t.Fatalf("%d staged files left after commits", n)
	}
	// Aborted bytes never appear under their digest.
	w, _ := s.Create(ctx)
	io.WriteString(w, "half a blob")
	w.Abort()
	if _, err := s.Stat(ctx, digest("half a blob")); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatalf("aborted blob: %v", err)
	}
	if n := stagedFiles(t, root); n != 0 {
		t.Fatalf("%d staged files left after abort", n)
	}
	if _, err := s.Open(ctx, "sha256:xyz"); fairway.ErrorCode(err) != fairway.EINVALID {
		t.Fatalf("bad digest: %v", err)
	}
	if err := s.Remove(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, d); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatalf("removed blob: %v", err)
	}
}

func TestFileStore_ClearsStagingLeftByACrash(t *testing.T) {
	root := t.TempDir()
	if _, err := blob.NewFileStore(root); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(root, "tmp", "stage-crashed")
	young := filepath.Join(root, "tmp", "stage-running")
	os.WriteFile(old, []byte("partial"), 0o644)
	os.WriteFile(young, []byte("partial"), 0o644)
	past := time.Now().Add(-blob.StaleStaging - time.Hour)
	os.Chtimes(old, past, past)
	if _, err := blob.NewFileStore(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("stale staged file kept: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Fatalf("a staged file that may still be in use was removed: %v", err)
	}
}
