package sqlite

import (
	"context"
	"database/sql"
	"errors"
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
	s, path := openWALStore(t)
	ctx := context.Background()
	insert := func(from, n int) {
		t.Helper()
		if err := s.Update(ctx, func(tx fairway.Tx) error {
			for i := from; i < from+n; i++ {
				task := wideTask(fmt.Sprintf("V-%04d", i))
				task.Title += fmt.Sprint(i)
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

	plain := openReadOnly(t, path)
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
	s, path := openWALStore(t)
	ctx := context.Background()
	const n = 3000
	writesBefore := walWrites.Load()
	if err := s.Update(ctx, func(tx fairway.Tx) error {
		for i := range n {
			if err := tx.InsertTask(wideTask(fmt.Sprintf("L-%05d", i))); err != nil {
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
	plain := openReadOnly(t, path)
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

// A transaction that spilled frames to the WAL and then rolled back
// leaves nothing gathered: the frames it did not write are not written
// later, over the frames another connection has committed since.
func TestWALVFS_ARolledBackSpillIsNotWrittenOverAnotherCommit(t *testing.T) {
	s, path := openWALStore(t)
	ctx := context.Background()
	task := wideTask
	if err := s.Update(ctx, func(tx fairway.Tx) error { return tx.InsertTask(task("BASE-1")) }); err != nil {
		t.Fatal(err)
	}
	plain, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	// The database file holds every commit: rolling back reads its
	// pages from there, not from the WAL.
	if _, err := plain.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	// About 6 MiB of pages: more than the page cache holds, so SQLite
	// writes frames to the WAL before the transaction ends.
	errRollBack := errors.New("roll back")
	if err := s.Update(ctx, func(tx fairway.Tx) error {
		for i := range 6000 {
			if err := tx.InsertTask(task(fmt.Sprintf("SPILL-%05d", i))); err != nil {
				return err
			}
		}
		return errRollBack
	}); !errors.Is(err, errRollBack) {
		t.Fatalf("the spilling write returned %v, want %v", err, errRollBack)
	}

	// Another connection commits where the rolled-back frames were.
	if _, err := plain.Exec(`CREATE TABLE other(i INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 20000)
		INSERT INTO other SELECT i, printf('%0300d', i) FROM n`); err != nil {
		t.Fatal(err)
	}
	// The store's writer reads the WAL again.
	if err := s.Update(ctx, func(tx fairway.Tx) error { return tx.InsertTask(task("AFTER-1")) }); err != nil {
		t.Fatal(err)
	}

	fresh := openReadOnly(t, path)
	var check string
	if err := fresh.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	var n, bad int
	if err := fresh.QueryRow(`SELECT COUNT(*), COUNT(*) FILTER (WHERE v != printf('%0300d', i)) FROM other`).Scan(&n, &bad); err != nil {
		t.Fatal(err)
	}
	if n != 20000 || bad != 0 {
		t.Fatalf("the other connection's commit reads back %d rows, %d of them wrong; want 20000, none wrong", n, bad)
	}
	var tasks int
	if err := fresh.QueryRow(`SELECT COUNT(*) FROM tasks`).Scan(&tasks); err != nil {
		t.Fatal(err)
	}
	if tasks != 2 {
		t.Fatalf("read back %d tasks, want 2", tasks)
	}
}

// Under synchronous=NORMAL a commit is in the WAL file, checksums and
// all, when COMMIT returns, as it is through SQLite's own VFS: a copy of
// the files taken then recovers it. A transaction that spilled and wrote
// a page again rewrites its frames' headers at commit, the commit frame's
// last, with no page write after it and no sync to send it to the file.
func TestWALVFS_ACommitWithRewrittenChecksumsIsInTheFileUnderNormalSync(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wal.db")
	db := openNormalSyncWAL(t, path, "")
	total := 0
	for round := range 12 {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		n := 300 + 100*round
		// More pages than the cache holds: some go to the WAL early.
		if _, err := tx.Exec(`WITH RECURSIVE k(i) AS (SELECT ? UNION ALL SELECT i+1 FROM k WHERE i < ?)
			INSERT INTO rows SELECT i, printf('%0900d', i) FROM k`, total+1, total+n); err != nil {
			t.Fatal(err)
		}
		// Pages written early are written again, over their frames.
		if _, err := tx.Exec(`UPDATE rows SET v = printf('%0900d', -i) WHERE i > ? AND i % 5 = 0`, total); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		total += n
		count, err := rowsInACopy(t, path, filepath.Join(dir, fmt.Sprintf("copy%d.db", round)))
		if err != nil || count != total {
			t.Fatalf("round %d: a copy taken when COMMIT returned recovers %d rows (%v), want %d", round, count, err, total)
		}
	}
}

// Whatever the sync setting, a commit's frames are in the WAL file when
// its commit frame is: with synchronous=NORMAL and an exclusive lock no
// sync and no unlock follows a commit, so what the VFS still gathers then
// is lost to a crash. Commits of 1 to 70 pages put the commit frame at
// every place in the buffer, among them where its page no longer fits
// after its header.
func TestWALVFS_ACommitIsInTheFileWithoutASyncOrUnlock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wal.db")
	db := openNormalSyncWAL(t, path, "&_pragma=locking_mode(EXCLUSIVE)")
	total := 0
	commit := func(round, n int, spill bool) {
		t.Helper()
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		// A row of 4000 bytes takes a page of its own.
		if _, err := tx.Exec(`WITH RECURSIVE k(i) AS (SELECT ? UNION ALL SELECT i+1 FROM k WHERE i < ?)
			INSERT INTO rows SELECT i, zeroblob(4000) FROM k`, total+1, total+n); err != nil {
			t.Fatal(err)
		}
		if spill {
			// Pages the cache spilled are written again, over their frames.
			if _, err := tx.Exec(`UPDATE rows SET v = zeroblob(3999) WHERE i > ? AND i % 5 = 0`, total); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		total += n
		count, err := rowsInACopy(t, path, filepath.Join(dir, fmt.Sprintf("copy%d.db", round)))
		if err != nil || count != total {
			t.Fatalf("commit %d of %d rows (spill %v): a copy taken when COMMIT returned recovers %d rows (%v), want %d", round, n, spill, count, err, total)
		}
	}
	for n := 1; n <= 70; n++ {
		commit(n, n, false)
	}
	for round := range 4 {
		commit(100+round, 300+100*round, true)
	}
}

// openNormalSyncWAL opens path through the WAL VFS with
// synchronous=NORMAL, a cache small enough to spill and no automatic
// checkpoint, with a table rows(i, v).
func openNormalSyncWAL(t *testing.T, path, pragmas string) *sql.DB {
	t.Helper()
	if err := registerWALVFS(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?vfs="+walVFSName+pragmas+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-200)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE rows(i INTEGER PRIMARY KEY, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// rowsInACopy copies the database at path and its WAL, as a crash would
// leave them, to copied, and counts the rows SQLite recovers there.
func rowsInACopy(t *testing.T, path, copied string) (int, error) {
	t.Helper()
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(copied+suffix, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	recovered, err := sql.Open("sqlite", "file:"+copied)
	if err != nil {
		t.Fatal(err)
	}
	defer recovered.Close()
	var count int
	err = recovered.QueryRow(`SELECT COUNT(*) FROM rows`).Scan(&count)
	return count, err
}

// openWALStore opens a store in a temporary folder, closed at the end of
// the test, and returns it with its database's path.
func openWALStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fairway.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// wideTask is a task whose row takes about 400 bytes, so that few of
// them fill a page.
func wideTask(key string) *fairway.Task {
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	return &fairway.Task{Key: key, Title: strings.Repeat("wide title ", 30),
		Creator: "alice", Status: fairway.StatusOpen, Risk: fairway.RiskLow, CreatedAt: at, UpdatedAt: at}
}

// openReadOnly opens the database at path through SQLite's own VFS.
func openReadOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
