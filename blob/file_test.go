package blob_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/blobtest"
)

func stagedFiles(t *testing.T, root string) int {
	entries, err := os.ReadDir(filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestFileStore_Conformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) fairway.BlobStore {
		s, err := blob.NewFileStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestFileStore_LeavesNoStagedFiles: commits and aborts both clear the
// staging folder, whatever the outcome (the contract is checked by
// blobtest; the folder is this store's own).
func TestFileStore_LeavesNoStagedFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := blob.NewFileStore(root)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		finish func(fairway.BlobWriter) error
	}{
		{"commit", func(w fairway.BlobWriter) error { _, err := w.Commit(ctx); return err }},
		{"commit of bytes already stored", func(w fairway.BlobWriter) error { _, err := w.Commit(ctx); return err }},
		{"abort", func(w fairway.BlobWriter) error { return w.Abort() }},
	}
	for _, tc := range tests {
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "rollback plan v1")
		if n := stagedFiles(t, root); n != 1 {
			t.Fatalf("%s: %d staged files while staging, want 1", tc.name, n)
		}
		if err := tc.finish(w); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := stagedFiles(t, root); n != 0 {
			t.Fatalf("%s: %d staged files left", tc.name, n)
		}
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
