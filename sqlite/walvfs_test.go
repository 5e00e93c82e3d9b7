package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fairway"
)

// A commit's WAL frames reach the file in one write, not two per frame,
// and what they hold reads back through SQLite's own VFS, from this
// process while the store is open and from a fresh connection after.
func TestWALVFS_ACommitIsOneWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fairway.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	insert := func(from, n int) {
		t.Helper()
		if err := s.Update(ctx, func(tx fairway.Tx) error {
			for i := from; i < from+n; i++ {
				task := &fairway.Task{Key: fmt.Sprintf("V-%04d", i), Title: strings.Repeat("wide title ", 20) + fmt.Sprint(i),
					Creator: "alice", Status: fairway.StatusOpen, Risk: fairway.RiskLow, CreatedAt: at, UpdatedAt: at}
				if err := tx.InsertTask(task); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	insert(0, 1) // the first commit writes the WAL's header as well
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	sizeBefore, writesBefore := walSize(), walWrites.Load()
	insert(1, 60)
	frames := (walSize() - sizeBefore) / (24 + 4096)
	writes := walWrites.Load() - writesBefore
	if frames < 8 {
		t.Fatalf("the commit wrote %d frames; the test needs a commit of many", frames)
	}
	if writes != 1 {
		t.Fatalf("a commit of %d frames took %d writes, want 1", frames, writes)
	}

	plain, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var n int
	var last string
	if err := plain.QueryRow(`SELECT COUNT(*), MAX(title) FROM tasks`).Scan(&n, &last); err != nil {
		t.Fatal(err)
	}
	if n != 61 || !strings.HasSuffix(last, " 9") {
		t.Fatalf("read back %d tasks, last title %q; want 61, the largest ending in 9", n, last)
	}
}

// A commit larger than one write holds is written in several, each
// whole, and reads back.
func TestWALVFS_ALargeCommitReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fairway.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	const n = 3000
	writesBefore := walWrites.Load()
	if err := s.Update(ctx, func(tx fairway.Tx) error {
		for i := range n {
			task := &fairway.Task{Key: fmt.Sprintf("L-%05d", i), Title: strings.Repeat("wide title ", 30),
				Creator: "alice", Status: fairway.StatusOpen, Risk: fairway.RiskLow, CreatedAt: at, UpdatedAt: at}
			if err := tx.InsertTask(task); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if writes := walWrites.Load() - writesBefore; writes < 2 {
		t.Fatalf("a commit of about 3 MiB took %d writes; want several of at most %d bytes", writes, walBufferMax)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	plain, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var count int
	if err := plain.QueryRow(`SELECT COUNT(*) FROM tasks`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Fatalf("read back %d tasks, want %d", count, n)
	}
	var check string
	if err := plain.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
}
