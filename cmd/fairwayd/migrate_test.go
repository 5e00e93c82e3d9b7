package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fairway"
	"fairway/blob"
	"fairway/blobtest"
	"fairway/ledger"
	"fairway/postgres"
	"fairway/sqlite"
)

// tableRows counts every ledger table's rows in store.
func tableRows(t *testing.T, s fairway.Store) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := s.View(context.Background(), func(tx fairway.Tx) error {
		for _, table := range fairway.LedgerTables {
			out[table] = 0
			if err := tx.DumpTable(table, func([]string, []any) error { out[table]++; return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrate_CopiesTheDemoIntoPostgres copies the demo's SQLite ledger
// and its evidence blobs into PostgreSQL: every row of every table, the
// same audit head and tree, each blob under its digest; a second run is
// refused and changes nothing.
func TestMigrate_CopiesTheDemoIntoPostgres(t *testing.T) {
	store := postgresSchemaURL(t)
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), ".fairway")
	if out, err := fairwayCommand(dir, "demo", "--load-only").CombinedOutput(); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	blobsDir := t.TempDir()
	cmd := fairwayCommand(dir, "migrate", "--to", store, "--blobs", blobsDir, "--json")
	// As the README has it: FAIRWAY_STORE already names the target, and
	// the source is the local store of FAIRWAY_DIR.
	cmd.Env = append(cmd.Env, "FAIRWAY_STORE="+store)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("migrate: %v\n%s%s", err, out, stderr.String())
	}
	var res migrateResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("migrate --json answer %s: %v", out, err)
	}
	// Not a terminal: plain counts, one line per step, ending at the total.
	if !strings.Contains(stderr.String(), "reading audit_events: ") || strings.Contains(stderr.String(), "\r") {
		t.Errorf("progress off a terminal = %q, want plain lines of counts", stderr.String())
	}

	src, err := sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, store, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	want, got := tableRows(t, src), tableRows(t, dst)
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(res.Rows, want) {
		t.Fatalf("rows in PostgreSQL = %v, reported %v; the SQLite source has %v", got, res.Rows, want)
	}
	if want["audit_events"] == 0 || want["evidence"] == 0 {
		t.Fatalf("the demo has no events or evidence (%v): the copy proves nothing", want)
	}
	srcBlobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	dstBlobs, err := blob.NewFileStore(blobsDir)
	if err != nil {
		t.Fatal(err)
	}
	srcL, dstL := ledger.New(src, srcBlobs), ledger.New(dst, dstBlobs)
	sv, err := srcL.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dv, err := dstL.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !dv.OK || dv.Head.Seq != sv.Head.Seq || dv.Head.Hash != sv.Head.Hash || res.Head.Hash != sv.Head.Hash {
		t.Fatalf("PostgreSQL verifies %+v, the source %+v, migrate reported head %+v", dv, sv, res.Head)
	}
	digests, err := evidenceDigests(ctx, dstL)
	if err != nil {
		t.Fatal(err)
	}
	if res.Blobs != len(digests) || res.BlobsHeld != 0 {
		t.Fatalf("copied %d blobs (%d already there), want %d", res.Blobs, res.BlobsHeld, len(digests))
	}
	for _, d := range digests {
		sn, err1 := srcBlobs.Stat(ctx, d)
		dn, err2 := dstBlobs.Stat(ctx, d)
		if err1 != nil || err2 != nil || sn != dn {
			t.Fatalf("blob %s: source %d (%v), copy %d (%v)", d, sn, err1, dn, err2)
		}
	}
	// The gate reads the copied evidence bytes through the new blob store.
	view, err := dstL.ExplainGate(ctx, "OPS-UAT-KIND-FULL-001")
	if err != nil {
		t.Fatal(err)
	}
	sview, err := srcL.ExplainGate(ctx, "OPS-UAT-KIND-FULL-001")
	if err != nil {
		t.Fatal(err)
	}
	if view.Pass != sview.Pass || view.SnapshotDigest != sview.SnapshotDigest {
		t.Fatalf("gate on the copy = pass %v, snapshot %s; on the source pass %v, snapshot %s", view.Pass, view.SnapshotDigest, sview.Pass, sview.SnapshotDigest)
	}

	// Again: refused, saying why, and nothing is added.
	again := fairwayCommand(dir, "migrate", "--to", store)
	msg, err := again.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitConflict {
		t.Fatalf("second migrate: %v\n%s", err, msg)
	}
	if !strings.Contains(string(msg), "already holds a ledger") || !strings.Contains(string(msg), "an earlier migrate already finished") {
		t.Fatalf("second migrate says %q", msg)
	}
	if after := tableRows(t, dst); !reflect.DeepEqual(after, want) {
		t.Fatalf("after a refused second migrate the rows are %v, want %v", after, want)
	}

	// A blob copy cut short: run again with --blobs, and only the missing
	// blob is copied; no row is added.
	if err := dstBlobs.Remove(ctx, digests[0]); err != nil {
		t.Fatal(err)
	}
	out, err = fairwayCommand(dir, "migrate", "--to", store, "--blobs", blobsDir, "--json").Output()
	if err != nil {
		t.Fatalf("migrate to finish the blobs: %v\n%s", err, out)
	}
	var finish migrateResult
	if err := json.Unmarshal(out, &finish); err != nil {
		t.Fatal(err)
	}
	if !finish.AlreadyCopied || finish.Blobs != 1 || finish.BlobsHeld != len(digests)-1 {
		t.Fatalf("finishing the blobs = %+v, want 1 copied and %d already there", finish, len(digests)-1)
	}
	if _, err := dstBlobs.Stat(ctx, digests[0]); err != nil {
		t.Fatalf("the missing blob is still missing: %v", err)
	}
	if after := tableRows(t, dst); !reflect.DeepEqual(after, want) {
		t.Fatalf("after finishing the blobs the rows are %v, want %v", after, want)
	}
}

// TestMigrate_RefusesWhatItCannotCopy: bad targets and sources are
// refused before anything is read.
func TestMigrate_RefusesWhatItCannotCopy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".fairway")
	if out, err := fairwayCommand(dir, "actor", "create", "alice", "--kind", "human", "--no-token").CombinedOutput(); err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"migrate"}, exitUsage, "say where to copy the ledger: --to postgres://"},
		{[]string{"migrate", "--to", "sqlite:other.db"}, exitUsage, "is not PostgreSQL"},
		{[]string{"migrate", "--to", "postgres://db.internal/fairway", "--blobs", "gs://bucket"}, exitUsage, `scheme "gs" is not a blob store`},
	}
	for _, c := range cases {
		out, err := fairwayCommand(dir, c.args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != c.code || !strings.Contains(string(out), c.msg) {
			t.Errorf("%v: exit %d %q, want exit %d saying %q", c.args, code, out, c.code, c.msg)
		}
	}
}

// On a terminal the progress is one line redrawn in place, a bar over the
// rows; elsewhere a plain line per step.
func TestProgressBar_TerminalAndPlain(t *testing.T) {
	var tty, plain bytes.Buffer
	for _, p := range []*progressBar{{w: &tty, tty: true}, {w: &plain}} {
		p.show("copying", "tasks", 50, 200)
		p.show("copying", "tasks", 200, 200)
		p.end()
	}
	want := "\r\033[K[#######                       ] copying 50/200 tasks\r\033[K[##############################] copying 200/200 tasks\n"
	if tty.String() != want {
		t.Errorf("terminal: %q, want %q", tty.String(), want)
	}
	if want := "copying tasks: 50 of 200\ncopying tasks: 200 of 200\n"; plain.String() != want {
		t.Errorf("plain: %q, want %q", plain.String(), want)
	}
}

// A --blobs URL may carry its credentials in the query (the README says
// so); migrate's report shows where the bytes went without them, in text
// and in --json, on the first run and on a rerun that only copies blobs.
func TestMigrate_NeverPrintsBlobCredentials(t *testing.T) {
	store := postgresSchemaURL(t)
	srv := blobtest.S3(t)
	dir := filepath.Join(t.TempDir(), ".fairway")
	if out, err := fairwayCommand(dir, "demo", "--load-only").CombinedOutput(); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	blobs := srv.URL(srv.NewPrefix())
	for i, args := range [][]string{{"migrate", "--to", store, "--blobs", blobs}, {"migrate", "--to", store, "--blobs", blobs, "--json"}} {
		out, err := fairwayCommand(dir, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out)
		}
		if !strings.Contains(string(out), "evidence blobs: ") && !strings.Contains(string(out), `"blobs_target"`) {
			t.Fatalf("run %d names no blob target:\n%s", i+1, out)
		}
		if strings.Contains(string(out), srv.SecretKey) || strings.Contains(string(out), "access_key="+srv.AccessKey) {
			t.Errorf("run %d printed the blob store's credentials:\n%s", i+1, out)
		}
	}
}
